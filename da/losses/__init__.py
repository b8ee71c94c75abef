"""Alignment criteria between source and target features (pure ``nn.Module`` s)."""

from da.losses.base import AlignmentLoss
from da.losses.coral import CORALLoss
from da.losses.dann import DANNLoss
from da.losses.mmd import MMDLoss

__all__ = ["AlignmentLoss", "CORALLoss", "DANNLoss", "MMDLoss"]
