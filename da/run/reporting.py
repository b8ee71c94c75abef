"""Run outputs: ``metrics.json`` (flat ``{name: number}`` + ``meta/*`` strings) and the summary."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Mapping

#: Shown in the terminal summary, in this order, when present.
SUMMARY_KEYS = ("val/source_acc", "test/target_acc", "test/target_f1", "val/target_acc_oracle",
                "time/total_s", "cache/hits", "cache/misses")


def to_number(value: Any) -> float | None:
    """A plain float from a number or 0-d tensor, ``None`` otherwise."""
    if hasattr(value, "item") and getattr(value, "numel", lambda: 1)() == 1:
        value = value.item()
    return float(value) if isinstance(value, (int, float)) else None


def flat_metrics(*sources: Mapping[str, Any]) -> dict[str, float]:
    """Merge metric mappings into one flat, JSON-safe ``{name: float}`` (later sources win)."""
    merged: dict[str, float] = {}
    for source in sources:
        for key, value in source.items():
            number = to_number(value)
            if number is not None:
                merged[key] = number
    return dict(sorted(merged.items()))


def write_metrics(path: Path, metrics: Mapping[str, float | str]) -> None:
    """Write ``metrics.json``; NaN/Inf are written as ``null`` so the file stays valid JSON.

    Values are numbers, except the ``meta/*`` provenance strings (see da/run/provenance.py).
    """
    clean = {k: (v if isinstance(v, str) or math.isfinite(v) else None)
             for k, v in metrics.items()}
    path.write_text(json.dumps(clean, indent=2) + "\n")


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.4f}"


def summary(run_name: str, metrics: Mapping[str, float], output_dir: Path,
            encoder: str | None = None, recipe: str | None = None) -> str:
    """One short block for the terminal at the end of a run (naming the encoder and the applied
    recipe, conf/recipe/<benchmark>/<method>.yaml, if given)."""
    parts = [f"{key} {_fmt(metrics[key])}" for key in SUMMARY_KEYS if key in metrics]
    parts += [f"encoder {encoder}"] if encoder else []
    parts += [f"recipe {recipe}"] if recipe else []
    return f"[da] {run_name}: " + " | ".join(parts) + f"\n[da] outputs: {output_dir}"
