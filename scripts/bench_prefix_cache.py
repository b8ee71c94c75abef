#!/usr/bin/env python
"""Training-step time of a partly frozen MiniLM (``encoder.freeze=N``) with and without the
prefix cache.

Usage: python scripts/bench_prefix_cache.py [--domain rt_polarity] [--freeze 4] [--steps 20]
           [--batch-size 32] [--max-length 128] [--device cpu|cuda]

Both paths train the same model (same initial weights: backbone, MLP on top, linear head) on the
same batches of the domain's training texts: ``live`` tokenizes each batch and runs the whole
backbone (frozen prefix included, in eval mode); ``cached`` computes the frozen prefix's token
states once (timed separately, as ``da-train`` does on a cache miss), then each step pads the
cached states and runs only the later layers. A step = batch preparation + host-to-device copy +
forward + cross-entropy + backward + AdamW step. Prints the mean step time of each, their ratio,
the one-time prefix cost, the size of the stored states (float16) and the loss difference of the
first step.
"""

from __future__ import annotations

import argparse
import copy
import os
import time

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    import torch
    import torch.nn.functional as F
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    from da.data.batching import PrefixCollate, TokenStates
    from da.encoders.hf import HFBackbone, TextEncoder
    from da.encoders.hf_prefix import PrefixCachedTextEncoder, encode_prefix
    from da.encoders.mlp import MLPEncoder
    from da.train import CONFIG_DIR

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--domain", default="rt_polarity")
    parser.add_argument("--model", default="minilm", help="minilm, a hub name or a local folder")
    parser.add_argument("--freeze", type=int, default=4)
    parser.add_argument("--steps", type=int, default=20, help="timed steps per path")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps per path first")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    torch.manual_seed(0)

    domain = instantiate(OmegaConf.merge(  # conf/base/domain.yaml: split_seed, ...
        OmegaConf.load(f"{CONFIG_DIR}/base/domain.yaml"),
        OmegaConf.load(f"{CONFIG_DIR}/domain/{args.domain}.yaml"))).load()
    n_batches = args.warmup + args.steps
    order = np.random.default_rng(0).permutation(len(domain.train))
    order = np.resize(order, n_batches * args.batch_size)  # wraps around for a small domain
    texts = [domain.train.x[i] for i in order]
    labels = torch.as_tensor(domain.train.y[order])
    batches = [range(b * args.batch_size, (b + 1) * args.batch_size) for b in range(n_batches)]

    backbone = HFBackbone(args.model, max_length=args.max_length, freeze=args.freeze,
                          normalize=True)
    top, head = MLPEncoder(backbone.out_dim, [256]), torch.nn.Linear(256, 2)
    live = torch.nn.Sequential(TextEncoder(backbone, top), head).to(device)
    cached = copy.deepcopy(live.cpu())
    cached[0] = PrefixCachedTextEncoder(cached[0].backbone, cached[0].top)
    live, cached = live.to(device), cached.to(device)

    unique = sorted(set(texts))  # the states of each distinct text are computed once
    start = time.perf_counter()
    states, lengths = encode_prefix(cached[0].backbone, unique, batch_size=64)
    sync(device)
    prefix_s = time.perf_counter() - start
    store = TokenStates(states, np.concatenate([[0], np.cumsum(lengths)]))
    row = {text: i for i, text in enumerate(unique)}
    collate = PrefixCollate()

    def live_batch(index):
        return {k: v.to(device) for k, v in backbone.tokenize([texts[i] for i in index]).items()}

    def cached_batch(index):
        padded = collate.pad([store[row[texts[i]]] for i in index])
        return {k: v.to(device) for k, v in padded.items()}

    def run(model, make_batch):
        optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad],
                                      lr=5e-5)
        model.train()
        losses, timed = [], 0.0
        for b, index in enumerate(batches):
            torch.manual_seed(b)  # same dropout masks on both paths
            sync(device)
            start = time.perf_counter()
            loss = F.cross_entropy(model(make_batch(index)), labels[list(index)].to(device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            sync(device)
            if b >= args.warmup:
                timed += time.perf_counter() - start
            losses.append(loss.item())
        return timed / args.steps, losses

    live_s, live_losses = run(live, live_batch)
    cached_s, cached_losses = run(cached, cached_batch)
    tokens = int(lengths.sum())
    print(f"device {device}, MiniLM freeze={args.freeze} (train layers {args.freeze + 1}..6), "
          f"{args.domain}: {args.steps} timed steps (+{args.warmup} warm-up) of batch "
          f"{args.batch_size}, max_length {args.max_length}")
    print(f"live (no cache):     {1e3 * live_s:9.1f} ms/step")
    print(f"prefix cache:        {1e3 * cached_s:9.1f} ms/step")
    print(f"speed-up live/cache: {live_s / cached_s:9.2f}x")
    print(f"one-time prefix:     {prefix_s:9.1f} s for {len(unique)} texts, {tokens} tokens "
          f"({tokens * backbone.out_dim * 2 / 1e6:.1f} MB as float16)")
    print(f"first-step loss:     live {live_losses[0]:.6f}, cached {cached_losses[0]:.6f} "
          f"(|diff| {abs(live_losses[0] - cached_losses[0]):.1e}, float16 states)")


def sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


if __name__ == "__main__":
    main()
