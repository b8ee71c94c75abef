"""LightningModules. One generic `AlignmentModule` covers source-only, DANN, MMD, CORAL, ...;
methods with their own step are subclasses selected by ``module:`` in their method yaml:
`MCDModule` (MCD, its own training loop with three steps per batch; conf/method/mcd.yaml) and
`SHOTModule` (SHOT, per-epoch target centroid pseudo-labels; conf/method/shot.yaml)."""

from da.methods.alignment import AlignmentModule
from da.methods.mcd import MCDModule
from da.methods.shot import SHOTModule

__all__ = ["AlignmentModule", "MCDModule", "SHOTModule"]
