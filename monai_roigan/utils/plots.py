"""Report figures with Matplotlib's object-oriented API (no pyplot state, no display needed)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from os import PathLike

import numpy as np
from matplotlib.figure import Figure

__all__ = ["metric_boxplots"]


def metric_boxplots(
    groups: Mapping[str, Mapping[str, Sequence[float]]], metrics: Sequence[str], path: str | PathLike, title: str = ""
) -> None:
    """One box plot per metric (side by side), one box per group, saved as PNG at 100 dpi.

    Args:
        groups: {group name: {metric: values}}, e.g. {"synthetic": {...}, "real (held-out)": {...}}.
        metrics: the metrics to plot, in order; non-finite values are left out of a box.
        path: the PNG file.
        title: the figure title.
    """
    fig = Figure(figsize=(2.3 * len(metrics), 3.2), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(metrics)))
    for ax, metric in zip(axes, metrics):
        values = [np.asarray(g[metric], dtype=float) for g in groups.values()]
        ax.boxplot([v[np.isfinite(v)] for v in values], tick_labels=list(groups), widths=0.6)
        ax.set_title(metric.upper(), fontsize=10)
        ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.savefig(path, dpi=100)
