"""Alignment criteria between source and target features (pure ``nn.Module`` s)."""

from da.losses.base import AlignmentCriterion, AlignmentLoss
from da.losses.bnm import BNMLoss
from da.losses.cdan import CDANLoss
from da.losses.composite import WeightedSum
from da.losses.coral import CORALLoss
from da.losses.dann import DANNLoss
from da.losses.entropy import EntropyLoss
from da.losses.jmmd import JMMDLoss
from da.losses.mcc import MCCLoss
from da.losses.mmd import MMDLoss

__all__ = ["AlignmentCriterion", "AlignmentLoss", "BNMLoss", "CDANLoss", "CORALLoss", "DANNLoss",
           "EntropyLoss", "JMMDLoss", "MCCLoss", "MMDLoss", "WeightedSum"]
