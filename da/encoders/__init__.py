"""Shared encoders. Each is an ``nn.Module`` with an ``out_dim`` attribute. What it takes
(``vectors``, ``text`` or ``images``) is the ``input`` key of its config (conf/encoder/), which
tells the DataModule what to serve."""

__all__ = ["MLPEncoder"]


def __getattr__(name: str):
    """``MLPEncoder`` imported on first use: importing a module of this package (encoder=auto
    does, to pick the encoder before a sweep starts) does not import torch."""
    if name == "MLPEncoder":
        from da.encoders.mlp import MLPEncoder
        return MLPEncoder
    raise AttributeError(f"module 'da.encoders' has no attribute {name!r}")
