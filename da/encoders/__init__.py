"""Shared encoders. Each is an ``nn.Module`` with an ``out_dim`` attribute and an ``input``
class attribute naming what it takes (``vectors``, ``text`` or ``images``)."""

from da.encoders.mlp import MLPEncoder

__all__ = ["MLPEncoder"]
