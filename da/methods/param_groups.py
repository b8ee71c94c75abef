"""Optimizer parameter groups with per-group learning-rate multipliers.

Both LightningModules give the pretrained part of the encoder (a text encoder's ``backbone``,
else the whole encoder) the learning rate ``lr · encoder_lr_scale`` (fine-tuning) and the
alignment loss's own parameters (DANN's discriminator) ``lr · alignment_lr_scale``, where ``lr``
is the configured optimizer's learning rate; everything else (heads, adapters) trains at ``lr``.
:func:`parameter_groups` splits the parameters, :func:`scaled_optimizer` builds the optimizer.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import torch
from torch import nn


def pretrained_part(encoder: nn.Module) -> nn.Module:
    """The part of ``encoder`` trained at ``encoder_lr_scale``: its ``backbone``, else itself."""
    return getattr(encoder, "backbone", encoder)


def parameter_groups(model: nn.Module, scales: dict[Any, float]) -> list[dict]:
    """Trainable parameters of ``model`` split by sub-module: ``[{"params", "lr_scale"}, ...]``.

    The first group holds every parameter in no key of ``scales`` (scale 1); each key then gets
    a group with its scale. Empty groups after the first are dropped; a parameter goes to the
    first key that holds it.
    """
    taken: set[int] = set()
    groups = []
    for module, scale in scales.items():
        if not isinstance(module, nn.Module):  # None, or a plain callable loss: no parameters
            continue
        params = [p for p in module.parameters() if p.requires_grad and id(p) not in taken]
        taken |= {id(p) for p in module.parameters()}
        if params:
            groups.append({"params": params, "lr_scale": float(scale)})
    rest = [p for p in model.parameters() if p.requires_grad and id(p) not in taken]
    return [{"params": rest, "lr_scale": 1.0}, *groups]


def scaled_optimizer(factory: Callable[..., torch.optim.Optimizer],
                     groups: Sequence[dict]) -> torch.optim.Optimizer:
    """``factory`` (a partial optimizer) over ``groups``, each at the factory's LR × ``lr_scale``.

    The factory is called with the first group only, which fixes the base learning rate (and
    every other default, such as weight decay); the other groups are then added with their
    scaled rates, in order.
    """
    first, *others = groups
    optimizer = factory([first])
    base_lr = optimizer.param_groups[0]["lr"]
    optimizer.param_groups[0]["lr"] = base_lr * first["lr_scale"]
    for group in others:
        optimizer.add_param_group({"params": group["params"], "lr": base_lr * group["lr_scale"]})
    return optimizer
