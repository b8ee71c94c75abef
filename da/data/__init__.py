"""Domain datasets, the source/target DataModule and featurizers."""

from da.data.types import DomainData, Split

__all__ = ["DomainData", "Split"]
