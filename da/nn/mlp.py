"""Multi-layer perceptron builder shared by encoders, heads and discriminators."""

from __future__ import annotations

from typing import Sequence

from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "gelu": nn.GELU}


def mlp(in_dim: int, hidden_dims: Sequence[int], out_dim: int | None = None,
        activation: str = "relu", dropout: float = 0.0, batch_norm: bool = False,
        input_dropout: float = 0.0) -> nn.Sequential:
    """``Linear → [BatchNorm1d →] activation → dropout`` per hidden size, then an optional output
    ``Linear``.

    Args:
        in_dim: input size.
        hidden_dims: sizes of the hidden layers (may be empty).
        out_dim: size of a final linear layer without activation; ``None`` for none.
        activation: one of ``relu``, ``sigmoid``, ``tanh``, ``gelu``.
        dropout: dropout probability after each hidden activation.
        batch_norm: a ``BatchNorm1d`` between each hidden ``Linear`` and its activation.
        input_dropout: dropout probability on the input, before the first ``Linear`` (with
            ``dropout`` equal to it, every ``Linear`` sees dropped-out inputs: MCD's classifier).
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation '{activation}'; choose one of {list(ACTIVATIONS)}")
    layers: list[nn.Module] = [nn.Dropout(input_dropout)] if input_dropout > 0 else []
    width = in_dim
    for hidden in hidden_dims:
        layers.append(nn.Linear(width, hidden))
        if batch_norm:
            layers.append(nn.BatchNorm1d(hidden))
        layers.append(ACTIVATIONS[activation]())
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        width = hidden
    if out_dim is not None:
        layers.append(nn.Linear(width, out_dim))
    return nn.Sequential(*layers)
