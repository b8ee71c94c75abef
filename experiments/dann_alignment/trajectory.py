"""DANN alignment along training (issue #26, item 4): after every epoch, on held-out features
(source validation part vs target test part, inputs only), the paper's probe
(``a_distance_svm``), the discriminator's accuracy on each domain separately (eval mode; a
"swap" shows as both far below 50 %), and the mean feature norms. Reporting only: no target
label is read (the target test part's inputs, not its labels).

    python experiments/dann_alignment/trajectory.py OUT.csv [da-train overrides ...]
    python experiments/dann_alignment/trajectory.py /tmp/traj.csv source=bow_kitchen \
        target=bow_books encoder=mlp method=dann seed=0
"""

from __future__ import annotations

import csv
import sys
import tempfile
from pathlib import Path

import lightning as L
import numpy as np
import torch

from da.config.compose import compose_config
from da.losses.dann import DANNLoss
from da.run.build import build_data, build_model, build_trainer
from da.selection.diagnostics import a_distance_svm
from da.selection.features import collect, subset_index


class Trajectory(L.Callback):
    """Rows of held-out diagnostics, one per training epoch (and one before training)."""

    def __init__(self, points: int = 500) -> None:
        self.points, self.rows = points, []

    def record(self, trainer: L.Trainer, module: L.LightningModule, epoch: int) -> None:
        dm = trainer.datamodule
        source, target = (collect(module, dm, part, subset_index(len(dm.parts[part]),
                                                                 self.points, 10 + i)).features
                          for i, part in enumerate(("source_val", "target_test")))
        row = {"epoch": epoch, "a_distance_svm": a_distance_svm(source, target),
               "norm_source": float(np.linalg.norm(source, axis=1).mean()),
               "norm_target": float(np.linalg.norm(target, axis=1).mean())}
        loss = getattr(module, "alignment", None)
        found = [m for m in (loss.modules() if loss is not None else []) if isinstance(m, DANNLoss)]
        if found:
            disc = found[0].discriminator
            was = disc.training
            disc.eval()
            with torch.no_grad():
                for name, feats, is_target in (("source", source, False),
                                               ("target", target, True)):
                    logits = disc(torch.as_tensor(feats)).squeeze(-1).numpy()
                    row[f"disc_acc_{name}"] = float(np.mean((logits > 0) == is_target))
            disc.train(was)
        self.rows.append(row)
        print(" ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                       for k, v in row.items()), flush=True)

    def on_train_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self.record(trainer, module, -1)

    def on_train_epoch_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self.record(trainer, module, trainer.current_epoch)


def main(out: str, overrides: list[str]) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        cfg = compose_config([*overrides, "logger=none", "callbacks=none",
                              "trainer.enable_progress_bar=false"], Path(scratch))
        L.seed_everything(cfg.seed, workers=True, verbose=False)
        datamodule, side = build_data(cfg)
        encoder, _ = side.encoder(datamodule.input_dim)
        model = build_model(cfg, datamodule, encoder)
        trajectory = Trajectory()
        trainer = build_trainer(cfg, Path(scratch), [])
        trainer.callbacks.append(trajectory)
        trainer.fit(model, datamodule=datamodule)
    with open(out, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(trajectory.rows[-1]))
        writer.writeheader()
        writer.writerows(trajectory.rows)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
