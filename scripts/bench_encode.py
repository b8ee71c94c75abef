#!/usr/bin/env python
"""Encoding throughput of `da`'s MiniLM backbone vs sentence-transformers' own ``encode``.

Usage: python scripts/bench_encode.py [--domain rt_polarity] [--n 3000] [--batch-size 128]

Both encode the same texts (the first ``--n`` training texts of the domain), with the same
model files, max length (128), batch size, mean pooling and normalization, on the CPU. Prints
texts/s of each and their ratio, and the largest absolute difference between the two outputs.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    from hydra.utils import instantiate
    from omegaconf import OmegaConf
    from sentence_transformers import SentenceTransformer

    from da.encoders.hf import HFBackbone
    from da.train import CONFIG_DIR

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--domain", default="rt_polarity")
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--batch-size", type=int, default=128)
    args = parser.parse_args()
    domain = instantiate(OmegaConf.merge(  # conf/base/domain.yaml: split_seed, ...
        OmegaConf.load(f"{CONFIG_DIR}/base/domain.yaml"),
        OmegaConf.load(f"{CONFIG_DIR}/domain/{args.domain}.yaml"))).load()
    texts = list(domain.train.x[: args.n])
    ours = HFBackbone("minilm", max_length=128, normalize=True)
    theirs = SentenceTransformer(ours.path, device="cpu")
    theirs.max_seq_length = 128
    ours.encode(texts[:64]), theirs.encode(texts[:64])  # warm-up
    start = time.perf_counter()
    a = ours.encode(texts, batch_size=args.batch_size)
    t_ours = time.perf_counter() - start
    start = time.perf_counter()
    b = theirs.encode(texts, batch_size=args.batch_size, convert_to_numpy=True,
                      normalize_embeddings=True)
    t_theirs = time.perf_counter() - start
    print(f"texts: {len(texts)} from {args.domain}, batch {args.batch_size}, max_length 128")
    print(f"da HFBackbone.encode:          {len(texts) / t_ours:8.1f} texts/s ({t_ours:.1f} s)")
    print(f"SentenceTransformer.encode:    {len(texts) / t_theirs:8.1f} texts/s ({t_theirs:.1f} s)")
    print(f"throughput ratio da / s-t:     {t_theirs / t_ours:.2f}x")
    print(f"max |difference| of embeddings: {np.abs(a - b).max():.2e}")


if __name__ == "__main__":
    main()
