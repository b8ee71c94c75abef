"""LeNet-style CNN encoder for small grey images (MNIST / USPS digits).

The network of ADDA's digit experiments (Tzeng et al., *Adversarial Discriminative Domain
Adaptation*, CVPR 2017; LeCun et al. 1998):

    g(x) = dropout(relu(W · flatten(relu(pool(drop2d(conv_50(relu(pool(conv_20(x))))))))))

with two 5×5 convolutions (20 and 50 channels), 2×2 max pooling after each, a fully connected
layer to ``out_dim`` (500) features, then ReLU (and optional dropout), so that the classifier head
on top is linear. The flatten size is computed from the input shape: with ``padding=2`` a 16×16
image gives 50×4×4 and a 28×28 image 50×7×7; with ``padding=0`` 16×16 → 50×1×1, 28×28 → 50×4×4.

ADDA's own LeNet (erictzeng/adda, ``adda/models/lenet.py``; ``conf/encoder/lenet_adda.yaml``) is
this network with ``padding=0`` ('VALID'), no dropout at all and Glorot-uniform weights with zero
biases (TF-slim's defaults; ``init="glorot"``): conv 5×5 20 → ReLU → pool → conv 5×5 50 → ReLU →
pool → fc 500 → ReLU, then a linear 500 → 10 classifier (here the head). ReLU and max pooling
commute, so conv → pool → ReLU computes the same function.

MCD's digit generator (Saito et al., CVPR 2018; mil-tokyo/MCD_DA, ``classification/model/usps.py``,
``Feature``) is this network with 32 and 48 channels, a ``BatchNorm2d`` after each convolution
(``batch_norm=True``; conv → BN → ReLU → pool there, conv → BN → pool → ReLU here: the same
function), no fully connected layer (``fc=False``: the 48·4·4 = 768 pooled maps are the features;
MCD's three-layer classifier is the head) and inputs normalized as ``(x − 0.5) / 0.5``
(``input_mean=0.5``, ``input_std=0.5``; the authors' ``transforms.Normalize``).
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

from da.errors import ConfigError

#: Weight initializations of :class:`LeNetEncoder`.
INITS = ("torch", "glorot")


def image_shape(in_dim: int | None, in_shape: Sequence[int] | None,
                in_channels: int) -> tuple[int, int, int]:
    """``(channels, height, width)`` from ``in_shape`` or, for square images, from ``in_dim``.

    ``da-train`` passes the flattened input size ``in_dim = c·h·w``; square images are assumed
    unless ``in_shape`` is given.
    """
    if in_shape is not None:
        if len(in_shape) != 3:
            raise ConfigError(f"encoder.model.in_shape must be [channels, height, width], got "
                              f"{list(in_shape)}")
        return int(in_shape[0]), int(in_shape[1]), int(in_shape[2])
    if in_dim is None:
        raise ConfigError("LeNetEncoder needs in_dim (filled in from the data by da-train) or "
                          "encoder.model.in_shape=[c,h,w]")
    side = math.isqrt(int(in_dim) // in_channels)
    if in_channels * side * side != int(in_dim):
        raise ConfigError(f"input of {in_dim} values is not {in_channels} square channel(s); set "
                          f"encoder.model.in_shape=[channels,height,width].")
    return in_channels, side, side


class LeNetEncoder(nn.Module):
    """Two conv + pool blocks and a fully connected layer; ``out_dim`` features after ReLU.

    Args:
        in_dim: flattened input size ``c·h·w`` (filled in from the data by ``da-train``).
        out_dim: number of features (500 in ADDA's LeNet).
        in_shape: ``[c, h, w]``; overrides ``in_dim`` for non-square images.
        in_channels: channels when the shape is inferred from ``in_dim``.
        channels: output channels of the two convolutions.
        kernel_size: convolution kernel size.
        padding: zero padding of each convolution (2 keeps 16×16 digits at 4×4 after two pools).
        dropout2d: channel dropout after the second convolution.
        dropout: dropout on the output features.
        init: ``"torch"`` (PyTorch's default initialization) or ``"glorot"`` (Glorot-uniform
            weights, zero biases: TF-slim's default, used by ADDA's LeNet).
        batch_norm: a ``BatchNorm2d`` after each convolution.
        fc: the fully connected layer (+ ReLU, dropout); without it the flattened pooled maps are
            the features and ``out_dim`` must equal their number.
        input_mean, input_std: inputs are fed as ``(x − input_mean) / input_std``.
    """

    def __init__(self, in_dim: int | None = None, out_dim: int = 500,
                 in_shape: Sequence[int] | None = None, in_channels: int = 1,
                 channels: Sequence[int] = (20, 50), kernel_size: int = 5, padding: int = 0,
                 dropout2d: float = 0.5, dropout: float = 0.0, init: str = "torch",
                 batch_norm: bool = False, fc: bool = True, input_mean: float = 0.0,
                 input_std: float = 1.0) -> None:
        super().__init__()
        if init not in INITS:
            raise ConfigError(f"encoder.model.init must be one of {list(INITS)}, got '{init}'")
        if not input_std > 0:
            raise ConfigError(f"encoder.model.input_std must be > 0, got {input_std}")
        self.in_shape = image_shape(in_dim, in_shape, in_channels)
        self.out_dim = int(out_dim)
        self.input_mean, self.input_std = float(input_mean), float(input_std)
        c1, c2 = (int(c) for c in channels)

        def conv(c_in: int, c_out: int) -> list[nn.Module]:
            # without batch norm no placeholder layer: the state-dict keys stay those of
            # checkpoints written before batch_norm existed
            layer = nn.Conv2d(c_in, c_out, kernel_size, padding=padding)
            return [layer, nn.BatchNorm2d(c_out)] if batch_norm else [layer]

        self.features = nn.Sequential(
            *conv(self.in_shape[0], c1), nn.MaxPool2d(2), nn.ReLU(), *conv(c1, c2),
            nn.Dropout2d(dropout2d) if dropout2d > 0 else nn.Identity(),
            nn.MaxPool2d(2), nn.ReLU(), nn.Flatten())
        with torch.no_grad():
            try:
                flat = self.features(torch.zeros(1, *self.in_shape)).shape[1]
            except RuntimeError as exc:
                raise ConfigError(
                    f"images of shape {self.in_shape} are too small for two {kernel_size}x"
                    f"{kernel_size} convolutions with padding {padding} and 2x2 pooling; raise "
                    f"encoder.model.padding.") from exc
        if fc:
            self.fc = nn.Sequential(nn.Linear(flat, self.out_dim), nn.ReLU(),
                                    nn.Dropout(dropout) if dropout > 0 else nn.Identity())
        elif flat != self.out_dim:
            raise ConfigError(f"without the fully connected layer (encoder.model.fc=false) the "
                              f"features are the {flat} pooled values; set encoder.out_dim={flat}")
        else:
            self.fc = nn.Identity()
        if init == "glorot":
            for layer in self.modules():
                if isinstance(layer, (nn.Conv2d, nn.Linear)):
                    nn.init.xavier_uniform_(layer.weight)
                    nn.init.zeros_(layer.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, c·h·w)`` or ``(batch, c, h, w)`` → ``(batch, out_dim)``."""
        x = x.reshape(x.shape[0], *self.in_shape)
        if self.input_mean != 0.0 or self.input_std != 1.0:
            x = (x - self.input_mean) / self.input_std
        return self.fc(self.features(x))
