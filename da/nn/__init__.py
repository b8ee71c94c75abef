"""Reusable layers: gradient reversal, MLP blocks, classifier heads."""

from da.nn.grl import GradientReversal, grad_reverse
from da.nn.mlp import mlp

__all__ = ["GradientReversal", "grad_reverse", "mlp"]
