"""The picture of a :class:`da.results.tables.Table`: ``results.png`` of da-compare and da-bench.

Two panels share the method rows, sorted by average (largest on top):

- a heatmap, methods × (pairs + ``average``): each pair cell says the mean ± std over seeds, the
  average cell the mean over the transfer pairs, as in ``results.md``. The colour is the
  difference to the ``source_only`` row in points (red: below source-only, blue: above) when the
  table has that row and the metric is a percentage: the accuracy itself mostly shows how hard a
  pair is, the difference shows what adaptation did. Otherwise it is the value (viridis).
- bars: each method's average over the transfer pairs; error bar = mean over those pairs of the
  std over seeds (the seed noise of one cell, not a confidence interval of the average).

The figure grows with the table up to ``MAX_INCHES`` a side (``DPI`` 150: ≤ 2400 × 2400 px); past
that the cells shrink, and once too small for text they lose their numbers (results.md has them).
A metric with "oracle" in its name is labelled ORACLE: it peeks at the target test labels.
matplotlib is optional and imported only when drawing.
"""

from __future__ import annotations

import importlib.util
import math
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from da.results.tables import Table

DPI = 150
MAX_INCHES = 16.0  # cap on width and height
CELL = (0.78, 0.46)  # a heatmap cell at full size, inches
BARS_INCHES = 3.2  # width of the averages panel
BASELINE = "source_only"
FONT, MIN_FONT = 9.0, 5.5  # cell numbers at full size; smaller cells get none


def metric_label(table: Table) -> str:
    """The metric's name for titles and axes, ORACLE-labelled if it uses target test labels."""
    name = (f"ORACLE {table.metric} (peeks at target test labels)"
            if "oracle" in table.metric.lower() else table.metric)
    return name + (" (%)" if table.percent else "")


def ordered_methods(table: Table) -> list[str]:
    """Methods by average over the transfer pairs, largest first; those without one last."""
    averages = {m: table.average(m) for m in table.methods}
    return sorted(table.methods, key=lambda m: (averages[m] is None, -(averages[m] or 0.0), m))


def seed_noise(table: Table, method: str) -> float:
    """Mean over the transfer pairs of the std over seeds (0 when there is no such cell)."""
    stds = [c[1] for p in table.pairs if "(in-domain)" not in p
            if (c := table.cell(method, p)) is not None]
    return sum(stds) / len(stds) if stds else 0.0


@dataclass
class Layout:
    """Figure and heatmap cell size (inches), tick label sizes (pt) for a table."""

    width: float
    height: float
    cell_w: float
    cell_h: float
    x_ticks: float
    y_ticks: float


def layout(table: Table) -> Layout:
    """Cells of ``CELL`` inches while the figure fits in ``MAX_INCHES``, smaller beyond."""
    cols, rows = len(table.pairs) + 1, max(len(table.methods), 1)
    fixed_w = 0.6 + 0.08 * max(map(len, table.methods), default=8) + BARS_INCHES
    fixed_h = 2.0 + 0.055 * max(map(len, table.pairs), default=8)  # titles, bar, 45° labels
    cell_w = min(CELL[0], (MAX_INCHES - fixed_w) / cols)
    cell_h = min(CELL[1], (MAX_INCHES - fixed_h) / rows)
    return Layout(width=min(MAX_INCHES, max(7.0, fixed_w + cols * cell_w)),
                  height=min(MAX_INCHES, max(3.0, fixed_h + rows * cell_h)),
                  cell_w=cell_w, cell_h=cell_h,
                  x_ticks=max(4.0, min(9.0, cell_w * 72 / 1.8)),
                  y_ticks=max(4.0, min(10.0, cell_h * 72 / 1.4)))


def cell_font(size: Layout, texts: list[list[str]]) -> float:
    """Size (pt) of the cell numbers: the longest line fits a cell's width, two lines its height.

    Returns:
        At most ``FONT``; 0 (no numbers) when that would be below ``MIN_FONT``.
    """
    chars = max((len(line) for row in texts for text in row for line in text.split("\n")),
                default=1)
    font = min(FONT, size.cell_w * 72 / (0.62 * chars + 0.8), size.cell_h * 72 / 3.0)
    return font if font >= MIN_FONT else 0.0


def cells(table: Table, methods: list[str]) -> tuple[list[list[str]], Any, str]:
    """The heatmap's cell texts, colour values (rows × pairs + average) and colour bar label."""
    import numpy as np

    fmt = ".1f" if table.percent else ".3g"
    texts, values = [], np.full((len(methods), len(table.pairs) + 1), np.nan)
    for i, method in enumerate(methods):
        row = []
        for j, pair in enumerate(table.pairs):
            cell = table.cell(method, pair)
            if cell is not None:
                values[i, j] = cell[0]
            row.append("–" if cell is None else f"{cell[0]:{fmt}}\n± {cell[1]:{fmt}}")
        average, (have, total) = table.average(method), table.coverage(method)
        values[i, -1] = np.nan if average is None else average
        row.append("–" if average is None else f"{average:{fmt}}"
                   + (f"\n({have}/{total})" if have < total else ""))
        texts.append(row)
    if table.percent and BASELINE in methods:
        values = values - values[methods.index(BASELINE)]
        return texts, values, f"difference to {BASELINE} (points)"
    return texts, values, metric_label(table)


def draw_heatmap(ax: Axes, table: Table, methods: list[str], size: Layout) -> tuple[Any, str]:
    """Methods × (pairs + average), coloured, with every cell's numbers.

    Returns:
        The image (for the colour bar) and what its colour means.
    """
    import matplotlib
    import numpy as np

    texts, values, meaning = cells(table, methods)
    delta = table.percent and BASELINE in methods
    reach = max(1.0, float(np.nanmax(np.abs(values)))) if delta and np.isfinite(values).any() \
        else None
    cmap = matplotlib.colormaps["RdBu" if delta else "viridis"].with_extremes(bad="0.85")
    image = ax.imshow(np.ma.masked_invalid(values), aspect="auto", cmap=cmap,
                      vmin=-reach if reach else None, vmax=reach)
    font = cell_font(size, texts)
    for i, row in enumerate(texts if font else []):
        for j, text in enumerate(row):
            shade = image.cmap(image.norm(values[i, j])) if np.isfinite(values[i, j]) else (1,) * 3
            dark = 0.299 * shade[0] + 0.587 * shade[1] + 0.114 * shade[2] < 0.5
            ax.text(j, i, text, ha="center", va="center", fontsize=font,
                    color="white" if dark else "black",
                    fontweight="bold" if j == len(table.pairs) else "normal")
    ax.axvline(len(table.pairs) - 0.5, color="white", linewidth=3)  # pairs | average
    ax.set_xticks(range(len(table.pairs) + 1), [*table.pairs, "average"], rotation=45,
                  ha="right", rotation_mode="anchor", fontsize=size.x_ticks)
    ax.set_yticks(range(len(methods)), methods, fontsize=size.y_ticks)
    ax.tick_params(length=0)
    return image, meaning


def draw_averages(ax: Axes, table: Table, methods: list[str], size: Layout) -> None:
    """Horizontal bars: average over the transfer pairs, error bar = mean seed std."""
    averages = [table.average(m) for m in methods]
    noise = [seed_noise(table, m) for m in methods]
    shown = [(i, a, e) for i, (a, e) in enumerate(zip(averages, noise)) if a is not None]
    ax.barh([i for i, _, _ in shown], [a for _, a, _ in shown], xerr=[e for _, _, e in shown],
            capsize=3, height=0.7, ecolor="0.2",
            color=["0.6" if methods[i] == BASELINE else "tab:blue" for i, _, _ in shown])
    fmt = ".1f" if table.percent else ".3g"
    for i, average, err in shown:
        ax.text(average + err, i, f" {average:{fmt}}", va="center", fontsize=size.y_ticks)
    low = min((a - e for _, a, e in shown), default=0.0)
    high = max((a + e for _, a, e in shown), default=1.0)
    if table.percent:  # zoom on the differences: the axis starts a little below the lowest
        left = max(0.0, 5 * math.floor((low - 0.1 * max(high - low, 1.0)) / 5))
    else:
        left = min(0.0, low - 0.1 * abs(high - low))
    ax.set_xlim(left, high + 0.3 * max(high - left, 1e-9))  # room for the numbers
    if BASELINE in methods and averages[methods.index(BASELINE)] is not None:
        ax.axvline(averages[methods.index(BASELINE)], color="0.4", linestyle="--", linewidth=1)
    ax.tick_params(axis="y", left=False, labelleft=False)
    ax.tick_params(axis="x", labelsize=size.x_ticks)
    ax.set_xlabel(textwrap.fill(f"average over transfer pairs, {metric_label(table)}; error bar: "
                                "mean over pairs of the std over seeds", 40), fontsize=9)
    ax.grid(axis="x", alpha=0.3)


def title(table: Table, width: float) -> str:
    """What the figure shows, the colour's meaning and the runs left out, wrapped to ``width``."""
    sizes = sorted({len(v) for v in table.cells.values()})
    runs = f"{sizes[0]} run(s) per cell" if len(sizes) == 1 else \
        f"{sizes[0]}–{sizes[-1]} runs per cell"
    colour = (f"colour = difference to {BASELINE}" if table.percent and BASELINE in table.methods
              else "colour = value")
    skipped = len(table.failed) + len(table.missing)
    head = f"{metric_label(table)}: mean ± std over seeds ({runs})"
    lines = [f"{head}; {colour}"] if len(head) + len(colour) + 2 <= width * 12 else [head, colour]
    if skipped:
        lines.append(f"{skipped} run(s) failed or incomplete: not shown")
    return "\n".join(textwrap.fill(line, int(width * 12)) for line in lines)


def figure(table: Table) -> Figure:
    """The heatmap and the sorted averages side by side, sized for the table (see module doc)."""
    from matplotlib.figure import Figure

    methods, size = ordered_methods(table), layout(table)
    heat_w = size.width - BARS_INCHES
    fig = Figure(figsize=(size.width, size.height), dpi=DPI, layout="constrained")
    heat, bars = fig.subplots(1, 2, sharey=True, width_ratios=[heat_w, BARS_INCHES])
    image, meaning = draw_heatmap(heat, table, methods, size)
    draw_averages(bars, table, methods, size)
    bar = fig.colorbar(image, ax=heat, location="top", shrink=0.5, aspect=40, pad=0.01)
    bar.set_label(meaning, fontsize=9)
    bar.ax.tick_params(labelsize=8)
    fig.suptitle(title(table, size.width), fontsize=10)
    return fig


def plot(table: Table, path: Path) -> Figure | None:
    """Write :func:`figure` to ``path`` (PNG at ``DPI``); ``None`` without matplotlib."""
    if importlib.util.find_spec("matplotlib") is None:
        print("da-compare: matplotlib is not installed; no results.png (pip install matplotlib)")
        return None
    fig = figure(table)
    fig.savefig(path, dpi=DPI)
    return fig
