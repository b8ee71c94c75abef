"""Framework overhead: `da`'s Lightning training vs a plain PyTorch loop doing identical work.

Both train the same model (one `build_model` result, copied before training) on the same batches
(the same `EpochShuffle` orders, source cycled like Lightning's ``max_size_cycle``), with the same
per-step seeding, Adam, alignment loss and schedule. The plain loop also does what `da` does by
default once per epoch: source-validation accuracy, one CSV log line and a checkpoint (the
per-epoch target pass is opt-in in `da`, ``data.oracle_val=true``; ``--oracle-val`` adds it to both).
`da` runs with its default callbacks, CSV logger and progress bar (`da.train.train`).

    python scripts/bench_overhead.py --epochs 10 --repeats 3 [override ...]

Prints one JSON line per run and a summary: median fit seconds of each and their ratio, and the
final target accuracy of each (equal up to float noise when the work is identical).
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from omegaconf import DictConfig

from da.run.build import build_datamodule, build_encoder, build_model
from da.run.resume import StepSeed
from da.train import compose_config, train

DEFAULT = ["source=bow_dvd", "target=bow_electronics", "encoder=mlp", "method=dann"]


def accuracy(model: torch.nn.Module, loader) -> float:
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for x, y in loader:
            correct += int((model(x).argmax(1) == y).sum())
            total += len(y)
    model.train()
    return correct / total


def cycled(loader):
    """Endless batches of ``loader``, re-iterating it (a new shuffle) when it runs out."""
    while True:
        yield from loader


def plain_fit(cfg: DictConfig, epochs: int, out: Path) -> tuple[float, float]:
    """The same training as `da`, written as a plain loop; returns (fit seconds, target acc)."""
    torch.manual_seed(cfg.seed)
    datamodule = build_datamodule(cfg)
    encoder, _ = build_encoder(cfg, datamodule)
    model = build_model(cfg, datamodule, encoder)
    source = datamodule.loader("source_train", shuffle=True)
    target = datamodule.loader("target_train", shuffle=True, labels=False)
    source_val, target_test = datamodule.loader("source_val"), datamodule.loader("target_test")
    oracle_val = bool(cfg.data.oracle_val)
    steps_per_epoch = max(len(source), len(target))
    total_steps, step = epochs * steps_per_epoch, 0
    optimizer = model.configure_optimizers()
    seeder = StepSeed(cfg.seed)
    start = time.perf_counter()
    with open(out / "plain_log.csv", "w", newline="") as log_file:
        log = csv.writer(log_file)
        for epoch in range(epochs):
            for sampler in (source.sampler, target.sampler):
                sampler.set_epoch(epoch)
            longer, shorter = (source, target) if len(source) >= len(target) else (target, source)
            for batch_a, batch_b in zip(longer, cycled(shorter)):
                (x_s, y_s), x_t = (batch_a, batch_b) if longer is source else (batch_b, batch_a)
                seeder.on_train_batch_start(_Step(step))
                f_s, f_t = model.encoder(x_s), model.encoder(x_t)
                logits_s, logits_t = model.head(f_s), model.head(f_t)
                loss_cls = F.cross_entropy(logits_s, y_s)
                progress = min(1.0, step / total_steps)
                loss = loss_cls
                if model.alignment is not None:
                    loss = loss + model.align_weight(progress) * model.alignment(
                        f_s=f_s, f_t=f_t, logits_s=logits_s, logits_t=logits_t, y_s=y_s,
                        progress=progress)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                step += 1
            log.writerow([epoch, step, float(loss_cls), accuracy(model, source_val),
                          accuracy(model, target_test) if oracle_val else ""])
            torch.save({"state_dict": model.state_dict(), "optimizer": optimizer.state_dict()},
                       out / "plain_last.ckpt")
    fit_s = time.perf_counter() - start
    return fit_s, accuracy(model, target_test)


class _Step:
    """The one attribute `StepSeed` reads from a Trainer."""

    def __init__(self, step: int) -> None:
        self.global_step, self.global_rank = step, 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--oracle-val", action="store_true",
                        help="both validate on the target test part every epoch")
    parser.add_argument("overrides", nargs="*", help="da-train overrides (default: %s)" % DEFAULT)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    overrides = [*DEFAULT, *args.overrides, f"trainer.max_epochs={args.epochs}",
                 f"data.oracle_val={str(args.oracle_val).lower()}"]
    times: dict[str, list[float]] = {"da": [], "plain": []}
    accs: dict[str, float] = {}
    for repeat in range(args.repeats):
        for kind in ("da", "plain"):  # alternate, so drifts in machine load hit both
            with tempfile.TemporaryDirectory() as tmp:
                cfg = compose_config(overrides, Path(tmp))
                if kind == "da":
                    metrics = train(cfg, Path(tmp))
                    fit_s, acc = metrics["time/fit_s"], metrics["test/target_acc"]
                else:
                    fit_s, acc = plain_fit(cfg, args.epochs, Path(tmp))
            times[kind].append(fit_s)
            accs[kind] = acc
            print(json.dumps({"run": kind, "repeat": repeat, "fit_s": round(fit_s, 3),
                              "target_acc": round(acc, 4)}), flush=True)
    da_s, plain_s = statistics.median(times["da"]), statistics.median(times["plain"])
    print(json.dumps({"overrides": overrides, "threads": args.threads,
                      "median_fit_s": {"da": round(da_s, 3), "plain": round(plain_s, 3)},
                      "ratio_da_over_plain": round(da_s / plain_s, 3),
                      "target_acc": {k: round(v, 4) for k, v in accs.items()}}))


if __name__ == "__main__":
    sys.exit(main())
