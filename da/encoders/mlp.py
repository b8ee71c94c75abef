"""Fully connected encoder for fixed-length vectors (bag-of-words, tf-idf, cached features)."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from da.nn.mlp import mlp


class MLPEncoder(nn.Module):
    """``x ↦ act(W_L … act(W_1 x))``; the DANN Amazon setup is one hidden layer of 50 units.

    Args:
        in_dim: input size; filled in from the data by ``da-train`` when left ``null``.
        hidden_dims: hidden layer sizes; the last one is ``out_dim``.
        activation: hidden activation (``relu``, ``sigmoid``, ``tanh``, ``gelu``).
        dropout: dropout after each hidden layer (also on the input if ``input_dropout``).
        input_dropout: dropout applied to the input vector.
    """

    def __init__(self, in_dim: int, hidden_dims: Sequence[int] = (50,), activation: str = "relu",
                 dropout: float = 0.0, input_dropout: float = 0.0) -> None:
        super().__init__()
        if not hidden_dims:
            raise ValueError("MLPEncoder needs at least one hidden layer")
        self.in_dim, self.out_dim = int(in_dim), int(hidden_dims[-1])
        self.input_dropout = nn.Dropout(input_dropout) if input_dropout > 0 else nn.Identity()
        self.net = mlp(self.in_dim, list(hidden_dims), None, activation, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(self.input_dropout(x.flatten(1)))
