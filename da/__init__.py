"""`da`: domain adaptation research on PyTorch Lightning, Hydra and W&B."""

__version__ = "0.1.0"
