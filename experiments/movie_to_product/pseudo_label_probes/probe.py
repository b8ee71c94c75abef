"""Label-free target-side probes on frozen features (an oracle analysis, not a method of `da`).

Do target pseudo-labels or target-entropy terms lift a head trained on frozen sentence features
where feature alignment did not? Target test labels are read only to score each probe.

    DA_DATA_DIR=... python experiments/movie_to_product/pseudo_label_probes/probe.py \
        --source rt_polarity --target cr --encoder mpnet --out results.md

Features come from `da`'s own pipeline (same splits and feature cache as `da-train`). Probes:
- ``lr``: logistic regression on the source features (sklearn defaults, C=1).
- ``lr+self-training``: one round of self-training (McClosky et al., 2006): the classifier
  refitted on the source part plus the target training texts it labels with confidence > 0.9.
- ``lr+centroids``: the pseudo-labelling step of SHOT (Liang et al., ICML 2020) on the frozen
  features: target class centroids weighted by the source classifier's probabilities, labels by
  the nearest centroid (cosine), repeated; accuracy after 1, 2 and 5 rounds.

Every probe is deterministic (no seeds). The trained-head methods (entropy, MCC, BNM, ...) are
`da` methods and are measured with `da-train` in ../README.md.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression


def frozen_features(source: str, target: str, encoder: str) -> dict[str, np.ndarray]:
    from da.build import build_datamodule, build_encoder
    from da.train import compose_config

    cfg = compose_config([f"source={source}", f"target={target}", f"encoder={encoder}",
                          "method=source_only"], Path("/tmp/da-probe"))
    datamodule = build_datamodule(cfg)
    build_encoder(cfg, datamodule)
    out = {}
    for name, part in datamodule.parts.items():
        out[name + "_x"] = np.asarray(part.x, dtype=np.float32)
        out[name + "_y"] = np.asarray(part.y)
    return out


def self_training(d: dict[str, np.ndarray], clf: LogisticRegression,
                  threshold: float = 0.9) -> np.ndarray:
    """One round of self-training: logistic regression refitted on the source part plus the
    target training texts whose confidence under the source classifier ``clf`` exceeds
    ``threshold``."""
    proba = clf.predict_proba(d["target_train_x"])
    keep = proba.max(1) > threshold
    x = np.vstack([d["source_train_x"], d["target_train_x"][keep]])
    y = np.concatenate([d["source_train_y"], proba.argmax(1)[keep]])
    return LogisticRegression(max_iter=2000).fit(x, y).predict(d["target_test_x"])


def centroid_rounds(d: dict[str, np.ndarray], clf: LogisticRegression,
                    rounds: int = 5) -> list[np.ndarray]:
    """SHOT's clustering pseudo-labels on frozen target features, round by round, started from
    the probabilities of the source classifier ``clf``."""
    unit = lambda x: x / np.linalg.norm(x, axis=1, keepdims=True)  # noqa: E731
    z, z_test = unit(d["target_train_x"]), unit(d["target_test_x"])
    weights, predictions = clf.predict_proba(d["target_train_x"]), []
    for _ in range(rounds):
        centroids = unit(weights.T @ z)
        weights = np.eye(len(centroids))[(z @ centroids.T).argmax(1)]
        predictions.append((z_test @ centroids.T).argmax(1))
    return predictions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default="rt_polarity")
    parser.add_argument("--target", default="cr")
    parser.add_argument("--encoder", default="mpnet")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    start = time.time()
    d = frozen_features(args.source, args.target, args.encoder)
    y = d["target_test_y"]
    lr = LogisticRegression(max_iter=2000).fit(d["source_train_x"], d["source_train_y"])
    rounds = centroid_rounds(d, lr)
    rows = [("lr (source only)", lr.predict(d["target_test_x"])),
            ("lr+self-training", self_training(d, lr)), ("lr+centroids, 1 round", rounds[0]),
            ("lr+centroids, 2 rounds", rounds[1]), ("lr+centroids, 5 rounds", rounds[-1])]
    base = 100 * float((rows[0][1] == y).mean())
    lines = [f"# Pseudo-label probes: {args.source} -> {args.target}, frozen {args.encoder}", "",
             f"Target test: {len(y)} texts, {100 * y.mean():.1f} % positive (the majority "
             f"class). {time.time() - start:.0f} s in all, encoding included where the "
             f"feature cache was cold.", "",
             "| probe | target acc. (%) | vs source only | predicted positive |",
             "|---|---|---|---|"]
    for name, predicted in rows:
        acc = 100 * float((predicted == y).mean())
        lines.append(f"| {name} | {acc:.1f} | {acc - base:+.1f} | {100 * predicted.mean():.0f} % |")
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
