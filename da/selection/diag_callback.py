"""`DiagnosticsCallback`: proxy A-distance before and after training, and the t-SNE picture.

- ``diag/a_distance_init`` and ``diag/a_distance_svm_init``: at the start of fit, on the
  features of the initial encoder (kept in checkpoints: a resumed run reports the values of its
  first start);
- ``diag/a_distance`` and ``diag/a_distance_svm``: at the end of test, i.e. on the **tested**
  model (the selected checkpoint). ``_svm`` is Ganin et al.'s probe (a linear SVM on the raw
  features), the other a standardized logistic regression (:mod:`da.selection.diagnostics`);
- ``diag/disc_acc_heldout`` (a method with a DANN discriminator): the trained discriminator's
  domain accuracy on held-out features of the tested model in eval mode (the source validation
  part and the target test part, inputs only; the mean of the two domains' accuracies), beside
  ``train/align/disc_acc``, which is measured on training batches in train mode while training;
- ``embedding.png`` in the run dir (and ``diag/embedding`` on W&B): t-SNE of the tested model's
  features.

Both use the source and target *training* parts (at most ``max_points`` each, seeded). The plot
colours target points by their stored labels: a picture only, never used for selection.
"""

from __future__ import annotations

import logging
from pathlib import Path

import lightning as L

from da.losses.dann import DANNLoss
from da.selection.diagnostics import a_distance, a_distance_svm, domain_accuracy
from da.selection.embedding import embedding_plot
from da.selection.features import Outputs, collect, subset_index

log = logging.getLogger(__name__)


class DiagnosticsCallback(L.Callback):
    """Computes ``diag/*`` into :attr:`results` (merged into ``metrics.json`` by da.train).

    Args:
        output_dir: the run dir (``embedding.png`` goes there).
        a_distance: compute ``diag/a_distance_init`` and ``diag/a_distance``.
        embedding_plot: write ``embedding.png``.
        max_points: examples per domain for both.
        seed: seed of the subsets, the classifier split and t-SNE.
        title: plot title (the run name).
    """

    def __init__(self, output_dir: str | Path, a_distance: bool = True,
                 embedding_plot: bool = True, max_points: int = 500, seed: int = 0,
                 title: str = "") -> None:
        self.output_dir = Path(output_dir)
        self.a_distance, self.embedding_plot = a_distance, embedding_plot
        self.max_points, self.seed, self.title = max_points, seed, title
        self.results: dict[str, float] = {}
        self.plot_path: Path | None = None

    def _outputs(self, trainer: L.Trainer, module: L.LightningModule) -> dict[str, Outputs]:
        dm = trainer.datamodule
        return {part: collect(module, dm, part, subset_index(len(dm.parts[part]),
                                                             self.max_points, self.seed + i))
                for i, part in enumerate(("source_train", "target_train"))}

    def _distance(self, out: dict[str, Outputs], suffix: str = "") -> None:
        f_s, f_t = out["source_train"].features, out["target_train"].features
        for key, probe in ((f"diag/a_distance{suffix}", a_distance),
                           (f"diag/a_distance_svm{suffix}", a_distance_svm)):
            try:
                self.results[key] = probe(f_s, f_t, seed=self.seed)
            except ValueError as exc:
                log.warning("%s not computed: %s", key, exc)

    def state_dict(self) -> dict[str, dict[str, float]]:
        return {"results": dict(self.results)}  # a resumed run keeps diag/a_distance_init

    def load_state_dict(self, state_dict: dict[str, dict[str, float]]) -> None:
        self.results.update(state_dict.get("results", {}))

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if "diag/a_distance_init" in self.results:  # restored from a checkpoint (resume)
            return
        if self.a_distance and trainer.is_global_zero:
            self._distance(self._outputs(trainer, pl_module), "_init")

    def on_test_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not (self.a_distance or self.embedding_plot) or not trainer.is_global_zero:
            return
        out = self._outputs(trainer, pl_module)
        if self.a_distance:
            self._distance(out)
            self._heldout_disc_acc(trainer, pl_module)
        if self.embedding_plot:
            self._plot(trainer, out)
        self._log_wandb(trainer)

    def _heldout_disc_acc(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        loss = getattr(module, "alignment", None)
        found = [m for m in (loss.modules() if loss is not None else []) if isinstance(m, DANNLoss)]
        if not found:
            return
        dm = trainer.datamodule
        if "target_test" not in dm.parts:  # an unlabeled target: nothing held out to probe on
            return
        source_val, target_test = (
            collect(module, dm, part, subset_index(len(dm.parts[part]), self.max_points,
                                                   self.seed + 10 + i)).features
            for i, part in enumerate(("source_val", "target_test")))
        self.results["diag/disc_acc_heldout"] = domain_accuracy(found[0].discriminator,
                                                                source_val, target_test)

    def _plot(self, trainer: L.Trainer, out: dict[str, Outputs]) -> None:
        src, tgt = out["source_train"], out["target_train"]
        try:
            self.plot_path = embedding_plot(
                src.features, src.labels, tgt.features, tgt.labels,
                self.output_dir / "embedding.png", getattr(trainer.datamodule, "classes", None),
                title=self.title, seed=self.seed)
        except ImportError as exc:
            log.warning("embedding plot skipped: %s (install matplotlib, e.g. "
                        "pip install -e '.[sweep]')", exc)
        except ValueError as exc:  # e.g. too few points for t-SNE
            log.warning("embedding plot skipped: %s", exc)

    def _log_wandb(self, trainer: L.Trainer) -> None:
        from lightning.pytorch.loggers import WandbLogger
        for logger in trainer.loggers:
            if not isinstance(logger, WandbLogger):
                continue
            if self.results:
                logger.log_metrics(dict(self.results), step=trainer.global_step)
            if self.plot_path is not None:
                logger.log_image(key="diag/embedding", images=[str(self.plot_path)],
                                 step=trainer.global_step)
