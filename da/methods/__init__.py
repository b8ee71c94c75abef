"""LightningModules. One generic `AlignmentModule` covers source-only, DANN, MMD, CORAL, ...;
methods with their own step are subclasses selected by ``module:`` in their method yaml:
`MCDModule` (MCD, its own training loop with three steps per batch; conf/method/mcd.yaml),
`SHOTModule` (SHOT, per-epoch target centroid pseudo-labels; conf/method/shot.yaml) and
`ADDAModule` (ADDA, source pre-training then an adversarial target encoder; conf/method/adda.yaml)."""

from da.methods.adda import ADDAModule
from da.methods.alignment import AlignmentModule
from da.methods.mcd import MCDModule
from da.methods.shot import SHOTModule

__all__ = ["ADDAModule", "AlignmentModule", "MCDModule", "SHOTModule"]
