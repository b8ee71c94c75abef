"""Global-batch alignment under data parallelism (``method.gather: true``, docs/MULTIGPU.md).

Under DDP every rank sees its own slice of the batch. A loss that is a mean of per-example terms
(cross-entropy, DANN's discriminator loss, entropy) averaged by DDP over equal slices equals the
loss of the global batch, but a loss built on batch *statistics* does not: MMD's kernel means and
bandwidth, CORAL's covariances, BNM's nuclear norm and MCC's class confusion are estimated from
``b`` examples per device instead of ``world_size · b``. :func:`gather_batch` concatenates the
alignment inputs of all ranks, in rank order and with gradients, so that every rank computes the
loss on the global batch.

Gradients: the backward of ``torch.distributed.nn.functional.all_gather`` sums, into each rank's
rows, the gradients that every rank's (identical) loss sends to them, i.e. ``world_size ·
∂L/∂rows``; DDP then averages the parameter gradients over ranks, so the step gets exactly
``∂L_global/∂θ``, the gradient of one process holding the whole global batch.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch.distributed.nn.functional import all_gather as all_gather_with_grad


def world_size() -> int:
    """Number of processes of the initialized default process group (1 without one)."""
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def _gather(x: torch.Tensor, sizes: list[int]) -> torch.Tensor:
    """Rows of ``x`` (``sizes[r]`` on rank ``r``) of every rank, concatenated in rank order."""
    top = max(sizes)
    if x.shape[0] < top:  # all_gather needs equal shapes: pad, then trim each part
        x = torch.cat([x, x.new_zeros((top - x.shape[0], *x.shape[1:]))])
    if x.requires_grad:
        parts = all_gather_with_grad(x)
    else:
        parts = [torch.empty_like(x) for _ in sizes]
        dist.all_gather(parts, x.contiguous())
    return torch.cat([part[:n] for part, n in zip(parts, sizes)])


def gather_batch(*, f_s: torch.Tensor, f_t: torch.Tensor, logits_s: torch.Tensor,
                 logits_t: torch.Tensor, y_s: torch.Tensor) -> dict[str, torch.Tensor]:
    """The alignment-loss inputs of all ranks as one global batch (unchanged on one process).

    Source and target slices may differ in size between ranks (e.g. a last, short batch).
    """
    inputs = {"f_s": f_s, "f_t": f_t, "logits_s": logits_s, "logits_t": logits_t, "y_s": y_s}
    n = world_size()
    if n == 1:
        return inputs
    local = torch.tensor([f_s.shape[0], f_t.shape[0]], device=f_s.device)
    all_sizes = [torch.zeros_like(local) for _ in range(n)]
    dist.all_gather(all_sizes, local)
    source_sizes = [int(s[0]) for s in all_sizes]
    target_sizes = [int(s[1]) for s in all_sizes]
    return {name: _gather(x, source_sizes if name in ("f_s", "logits_s", "y_s") else target_sizes)
            for name, x in inputs.items()}
