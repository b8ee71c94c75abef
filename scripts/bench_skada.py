"""`da` vs skada (PyPI) on the same bag-of-words data, network, batches per step and epochs.

For each pair and seed, DANN and DeepCORAL are trained by `da` (``da.train.train``, its default
callbacks/logging) and by skada's deep API (skorch underneath), both with:
the 1800 source training reviews of `da`'s split (its other 200 are `da`'s source validation),
the 2000 unlabeled target training reviews, a 5000→50 ReLU encoder + linear head, Adam 1e-3,
64 source + 64 target examples per step, 10 epochs, alignment weight 1, and for DANN a
50→100→1 domain classifier behind a gradient-reversal layer. Differences that remain and are
the libraries' own: `da` anneals the reversal coefficient (Ganin's schedule), skada keeps it at 1;
skada's epoch covers max(n_s, n_t) examples per domain like `da`'s ``max_size_cycle``.

    pip install --no-deps skada==0.6.0 skorch==1.4.0 POT==0.9.7.post1 tabulate
    python scripts/bench_skada.py --pairs dvd:electronics books:kitchen --seeds 0 1 2
    python scripts/bench_skada.py --libs da --da-overrides +trainer.limit_val_batches=0 callbacks=none

Prints one JSON line per run and a Markdown table (accuracy and fit time side by side); also
runs skada's DANN with its default domain classifier (``skada default``) for reference.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections import OrderedDict, defaultdict
from pathlib import Path

import numpy as np
import torch
from torch import nn

from da.train import compose_config, train


class Net(nn.Module):
    """5000 → 50 ReLU (``features``) → 2, the DANN paper's Amazon network."""

    def __init__(self, in_dim: int = 5000, hidden: int = 50) -> None:
        super().__init__()
        self.body = nn.Sequential(OrderedDict(linear=nn.Linear(in_dim, hidden), features=nn.ReLU()))
        self.head = nn.Linear(hidden, 2)

    def forward(self, x, sample_domain=None, sample_weight=None):  # skada passes these
        return self.head(self.body(x))


class Discriminator(nn.Module):
    """Gradient reversal + 50 → 100 ReLU → 1 sigmoid (what `da`'s dann.yaml builds)."""

    def __init__(self, hidden: int = 50) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(hidden, 100), nn.ReLU(), nn.Linear(100, 1), nn.Sigmoid())

    def forward(self, x, sample_weight=None):
        from skada.deep.modules import GradientReversalLayer
        return self.net(GradientReversalLayer.apply(x, 1.0)).squeeze(-1)


def da_data(source: str, target: str):
    """The arrays `da` trains and tests on (source train part without its validation part)."""
    from da.run.build import build_datamodule
    with tempfile.TemporaryDirectory() as tmp:
        cfg = compose_config([f"source=bow_{source}", f"target=bow_{target}", "encoder=mlp"],
                             Path(tmp))
        parts = build_datamodule(cfg).parts
    return {k: (p.x.numpy().astype(np.float32), p.y) for k, p in parts.items()}


def run_skada(method: str, data, seed: int, epochs: int, default_disc: bool = False):
    from skada.deep import DANN, DeepCoral
    torch.manual_seed(seed)
    np.random.seed(seed)
    (xs, ys), (xt, _) = data["source_train"], data["target_train"]
    x = np.concatenate([xs, xt])
    y = np.concatenate([ys, -np.ones(len(xt), dtype=np.int64)])  # target labels masked
    domain = np.concatenate([np.ones(len(xs)), -np.ones(len(xt))]).astype(np.int64)
    common = dict(layer_name="body.features", reg=1.0, batch_size=64, max_epochs=epochs,
                  optimizer=torch.optim.Adam, lr=1e-3, train_split=None, verbose=0)
    if method == "dann":
        extra = {"num_features": 50} if default_disc else {"domain_classifier": Discriminator()}
        net = DANN(Net(), **extra, **common)
    else:
        net = DeepCoral(Net(), **common)
    start = time.perf_counter()
    net.fit(x, y, sample_domain=domain)
    fit_s = time.perf_counter() - start
    x_test, y_test = data["target_test"]
    pred = net.predict(x_test, sample_domain=-np.ones(len(x_test), dtype=np.int64))
    return fit_s, float((np.asarray(pred) == y_test).mean())


def run_da(method: str, source: str, target: str, seed: int, epochs: int,
           extra: list[str] = ()):
    with tempfile.TemporaryDirectory() as tmp:
        cfg = compose_config([f"source=bow_{source}", f"target=bow_{target}", "encoder=mlp",
                           f"method={method}", f"seed={seed}", f"trainer.max_epochs={epochs}",
                           "trainer.enable_progress_bar=false", *extra], Path(tmp))
        metrics = train(cfg, Path(tmp))
    return metrics["time/fit_s"], metrics["test/target_acc"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", nargs="+", default=["dvd:electronics", "books:kitchen",
                                                       "electronics:books", "kitchen:dvd"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--libs", nargs="+", default=["da", "skada", "skada default"])
    parser.add_argument("--da-overrides", nargs="*", default=[],
                        help="extra da-train overrides, e.g. +trainer.limit_val_batches=0")
    args = parser.parse_args()
    results = defaultdict(list)
    for pair in args.pairs:
        source, target = pair.split(":")
        data = da_data(source, target)
        for seed in args.seeds:
            for method, da_method in (("dann", "dann"), ("deepcoral", "coral")):
                runs = {"da": lambda: run_da(da_method, source, target, seed, args.epochs,
                                             args.da_overrides),
                        "skada": lambda: run_skada(method, data, seed, args.epochs)}
                if method == "dann":
                    runs["skada default"] = lambda: run_skada(method, data, seed, args.epochs, True)
                for lib, run in [(k, v) for k, v in runs.items() if k in args.libs]:
                    fit_s, acc = run()
                    results[(method, lib)].append((fit_s, acc))
                    print(json.dumps({"pair": pair, "seed": seed, "method": method, "lib": lib,
                                      "fit_s": round(fit_s, 2), "target_acc": round(acc, 4)}),
                          flush=True)
    print("\n| method | library | target acc (%) mean ± std | fit s (median) | time ratio da/skada |")
    print("|---|---|---|---|---|")
    for (method, lib), values in results.items():
        accs = [100 * a for _, a in values]
        fit = statistics.median(t for t, _ in values)
        skada_runs = results.get((method, "skada"))
        ratio = (f"{fit / statistics.median(t for t, _ in skada_runs):.2f}"
                 if lib == "da" and skada_runs else "")
        print(f"| {method} | {lib} | {statistics.mean(accs):.1f} ± {statistics.pstdev(accs):.1f} "
              f"| {fit:.1f} | {ratio} |")


if __name__ == "__main__":
    main()
