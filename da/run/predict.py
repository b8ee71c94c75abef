"""``da-predict RUN_DIR INPUT [--out FILE]``: label new examples with a trained run's model.

The model is the one the run tested (``meta/tested_checkpoint`` in its ``metrics.json``: the
checkpoint its selection rule chose, else the final model, ``checkpoints/last.ckpt``), rebuilt
from the run's ``config.yaml``. ``INPUT`` is a file of the kind the run was trained on: text in
CSV / TSV / JSONL (the run's ``text_column``, default ``text``; ``--text-column``), vectors in
``.npz`` (``X``) or CSV. Its inputs go through the run's **own** preprocessing, saved at training
time in ``model_inputs.json`` (:func:`write_model_inputs`: the tf-idf vocabulary and idf weights,
the text encoder's ``max_length``, the class names), never refitted on ``INPUT``. A frozen text
encoder encodes ``INPUT`` (and caches it, as training does). Labels in ``INPUT`` are ignored.

A run with ``encoder.denoiser`` (mSDA) keeps only its fit's key in ``model_inputs.json``: its
weights (500 MB on the Amazon domains) are not stored, so ``da-predict`` fits it again on the
run's own training inputs, read through the run's config, after checking by the key that they
are the inputs it was fitted on (the fit is closed-form: the same inputs give the same mSDA),
and then passes ``INPUT`` through it; never fitted on ``INPUT``.

The output is ``predictions.csv``'s format (:mod:`da.run.predictions`) with ``part`` = ``input``:
row, text (text runs), predicted class name, class probabilities.

Not supported yet (a clear error): image inputs.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from da.errors import ConfigError, DAError, DataError

log = logging.getLogger(__name__)

MODEL_INPUTS = "model_inputs.json"


def write_model_inputs(output_dir: Path, cfg: Any, datamodule: Any, side: Any) -> None:
    """``model_inputs.json``: what ``da-predict`` needs to feed new inputs to this run's model
    as training fed them (the module docstring)."""
    raw = datamodule.target_raw.x
    state = {
        "modality": datamodule.target.modality,
        "classes": list(datamodule.classes),
        "input_dim": datamodule.input_dim,
        "raw_dim": int(raw.shape[1]) if datamodule.target.modality == "vectors" else None,
        "text_column": cfg.target.get("text_column"),
        "label_column": cfg.target.get("label_column") or cfg.source.get("label_column"),
        "tfidf": side.featurizer.state() if getattr(side, "featurizer", None) is not None
        and side.featurizer.fitted else None,
        "max_length": side.backbone.max_length if side.backbone is not None else None,
        "denoiser": None if side.denoiser is None else {
            "fingerprint": side.denoiser.fingerprint(), "fit_key": side.denoiser.fit_key},
    }
    (output_dir / MODEL_INPUTS).write_text(json.dumps(state) + "\n")


def tested_name(ckpt_path: str | None, run_dir: Path) -> str:
    """``meta/tested_checkpoint``: the tested checkpoint's path relative to the run dir, or
    ``last`` for the final model."""
    if ckpt_path is None:
        return "last"
    path, run_dir = Path(ckpt_path).resolve(), Path(run_dir).resolve()
    return str(path.relative_to(run_dir)) if path.is_relative_to(run_dir) else str(path)


def tested_checkpoint(run_dir: Path, metrics: dict) -> Path:
    """The checkpoint of the model the run tested; the final model's must be from its last step."""
    import torch

    chosen = metrics.get("meta/tested_checkpoint")
    if chosen and chosen != "last":
        path = run_dir / chosen
        if not path.is_file():
            raise DataError(f"{run_dir}: the tested checkpoint {chosen} is missing.")
        return path
    path = run_dir / "checkpoints" / "last.ckpt"
    if not path.exists():
        raise DataError(f"{run_dir}: no checkpoints/last.ckpt (trained with callbacks=none?); "
                        f"da-predict needs the run's checkpoint.")
    step = torch.load(path, map_location="cpu", weights_only=True).get("global_step")
    if step != metrics.get("train/steps"):
        raise DataError(f"{path} is from step {step}, but the run ended at step "
                        f"{metrics.get('train/steps')}: the final model was not kept.")
    return path


def read_input(path: Path, state: dict, text_column: str | None) -> Any:
    """The examples of ``path`` as a :class:`~da.data.types.Split` of the run's modality."""
    from da.data.files import FeatureFile, TextFile

    modality, suffix = state["modality"], "".join(path.suffixes).lower()
    if modality == "text":
        if ".npz" in suffix:
            raise DataError(f"{path} holds vectors (.npz), but the run was trained on text; give "
                            f"a CSV / TSV / JSONL file with a '{text_column}' column.")
        domain = TextFile(str(path), text_column=text_column, label_column=None)
    elif modality == "vectors":  # a table's label column (the run's name) is not a feature
        domain = FeatureFile(str(path), label_column=None,
                             ignore_columns=[state.get("label_column") or "label"])
    else:
        raise ConfigError(f"da-predict does not read {modality} inputs yet.")
    try:
        split = domain.read_all(None)
    except DataError as exc:
        if modality != "vectors":
            raise
        raise DataError(f"{exc} The run takes vectors of {state['raw_dim']} features.") from exc
    if modality == "vectors" and split.x.shape[1] != state["raw_dim"]:
        raise DataError(f"{path} has {split.x.shape[1]} features per row, but the run was "
                        f"trained on {state['raw_dim']}; give vectors of the run's feature space.")
    return split


def predict(run_dir: Path, input_path: Path, out: Path, text_column: str | None = None) -> int:
    """Label every example of ``input_path`` with the run's tested model; returns the count."""
    import numpy as np
    import torch
    from omegaconf import OmegaConf
    from torch.utils.data import DataLoader

    from da.data.batching import batch_dataset
    from da.run.build import build_encoder_side, build_model
    from da.run.predictions import Labelled, softmax, write_csv

    files = {name: run_dir / name for name in ("config.yaml", "metrics.json", MODEL_INPUTS)}
    missing = [name for name, path in files.items() if not path.is_file()]
    if missing:
        raise DataError(f"{run_dir} is not a finished da-train run dir that da-predict can use "
                        f"(no {', '.join(missing)}); runs write model_inputs.json since "
                        f"da-predict exists: re-run older ones.")
    cfg = OmegaConf.load(files["config.yaml"])
    metrics = json.loads(files["metrics.json"].read_text())
    state = json.loads(files[MODEL_INPUTS].read_text())
    if state["denoiser"] is True:  # written before da-predict refitted mSDA
        raise ConfigError(f"{run_dir} was trained with encoder.denoiser (mSDA) before da-predict "
                          f"could refit it (model_inputs.json has no fit key); re-run it.")
    if not input_path.is_file():
        raise DataError(f"input file not found: {input_path}")
    split = read_input(input_path, state, text_column or state.get("text_column") or "text")

    if cfg.encoder.get("backbone") is not None and state["max_length"] is not None:
        cfg.encoder.backbone.max_length = state["max_length"]  # as trained, not refitted
    side = build_encoder_side(cfg, state["modality"])
    if state["tfidf"] is not None:  # text read through tf-idf: the run's own vocabulary
        side.featurizer.restore(state["tfidf"])
    if state["denoiser"]:
        refit_denoiser(cfg, side, state)
    inputs = split.x
    if side.pipeline.prepare is not None:
        inputs = side.pipeline.prepare({"input": split.x})["input"]
    encoder, _ = side.encoder(state["input_dim"])
    module = build_model(cfg, None, encoder, num_classes=len(state["classes"]))
    weights = torch.load(tested_checkpoint(run_dir, metrics), map_location="cpu",
                         weights_only=True)["state_dict"]
    module.load_state_dict(weights)
    module.eval()
    dataset, collate = batch_dataset((inputs,), side.pipeline.collate)
    logits = []
    with torch.no_grad():
        for x in DataLoader(dataset, batch_size=int(cfg.data.eval_batch_size), collate_fn=collate):
            logits.append(module.classify(module.encoder(x)).float())
    probs = softmax(torch.cat(logits)) if logits else np.zeros((0, len(state["classes"])))
    texts = split.x if state["modality"] == "text" else None
    return write_csv(out, state["classes"], [Labelled("input", probs, split.rows, texts)])


def refit_denoiser(cfg: Any, side: Any, state: dict) -> None:
    """The run's mSDA, fitted again on the run's training inputs (module docstring)."""
    from da.encoders.vectors import refit, vector_pipeline
    from da.run.build import build_data

    try:
        datamodule, _ = build_data(cfg, raw=True)  # the run's four parts as read
    except DAError as exc:
        raise DataError(f"da-predict refits the run's mSDA (encoder.denoiser) on the run's "
                        f"training data, which cannot be read: {exc}") from exc
    without_msda = vector_pipeline(cfg.encoder.input, state["modality"], side.featurizer)
    parts = without_msda.prepare({k: part.x for k, part in datamodule.parts.items()})
    refit(side.denoiser, parts, state["denoiser"]["fit_key"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="da-predict", description="Label a file with a trained run's model (its tested "
        "checkpoint and its own preprocessing).")
    parser.add_argument("run_dir", type=Path, help="a da-train run dir")
    parser.add_argument("input", type=Path, help="a file of the kind the run was trained on")
    parser.add_argument("--out", type=Path, default=None,
                        help="output CSV (default: <INPUT name>_predictions.csv here)")
    parser.add_argument("--text-column", default=None,
                        help="the text column of INPUT (default: the run's, else 'text')")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    out = args.out or Path(f"{args.input.name.split('.')[0]}_predictions.csv")
    try:
        count = predict(args.run_dir, args.input, out, args.text_column)
    except DAError as exc:
        print(f"da-predict: error: {exc}", file=sys.stderr)
        return 2
    print(f"da-predict: {count} predictions written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
