"""The bar chart of a :class:`da.compare.Table` (``results.png`` of da-compare and da-bench).

matplotlib is optional: without it no chart is drawn and a one-line note says so.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from da.compare import Table


def plot(table: Table, path: Path) -> None:
    """Grouped bars: one group per pair (+ average), one bar per method, std as error bars."""
    try:
        import matplotlib
    except ImportError:
        print("da-compare: matplotlib is not installed; no results.png (pip install matplotlib)")
        return
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = [*table.pairs, "average"]
    width = 0.8 / max(len(table.methods), 1)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(groups) * max(len(table.methods), 2)
                                        / 2), 4.5))
    lows = []
    for i, method in enumerate(table.methods):
        cells = [table.cell(method, p) for p in table.pairs]
        average = table.average(method)
        means = [c[0] if c else float("nan") for c in cells]
        means.append(float("nan") if average is None else average)
        stds = [c[1] if c else 0.0 for c in cells] + [0.0]
        lows += [m - s for m, s in zip(means, stds) if m == m]
        xs = [g + (i - (len(table.methods) - 1) / 2) * width for g in range(len(groups))]
        ax.bar(xs, means, width, yerr=stds, capsize=3, label=method)
    if table.percent and lows:  # zoom on the differences: start the axis a little below
        ax.set_ylim(bottom=max(0.0, 5 * ((min(lows) - 5) // 5)))
    ax.set_xticks(range(len(groups)), groups, rotation=30, ha="right")
    ax.set_ylabel(table.metric + (" (%)" if table.percent else ""))
    skipped = len(table.failed) + len(table.missing)
    ax.set_title(f"{table.metric}: mean ± std over seeds"
                 + (f"\n({skipped} run(s) failed or incomplete: not shown)" if skipped else ""),
                 fontsize="medium")
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
