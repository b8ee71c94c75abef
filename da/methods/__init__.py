"""LightningModules. One generic `AlignmentModule` covers source-only, DANN, MMD, CORAL, ...;
`MCDModule` (MCD) has its own training loop (selected by ``module:`` in conf/method/mcd.yaml)."""

from da.methods.alignment import AlignmentModule
from da.methods.mcd import MCDModule

__all__ = ["AlignmentModule", "MCDModule"]
