"""LightningModules. One generic `AlignmentModule` covers source-only, DANN, MMD, CORAL, ..."""

from da.methods.alignment import AlignmentModule

__all__ = ["AlignmentModule"]
