"""Shared encoders. Each is an ``nn.Module`` with an ``out_dim`` attribute. What it takes
(``vectors``, ``text`` or ``images``) is the ``input`` key of its config (conf/encoder/), which
tells the DataModule what to serve."""

from da.encoders.mlp import MLPEncoder

__all__ = ["MLPEncoder"]
