"""Training curves: every iteration's losses and discriminator accuracies, as CSV and PNG at the end."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from os import PathLike
from pathlib import Path

import ignite.distributed as idist
import numpy as np
from ignite.engine import Engine, Events

__all__ = ["TrainingCurves"]


class TrainingCurves:
    """Record ``keys`` of the iteration output; at the end write ``curves.csv`` and ``curves.png``.

    The PNG has two panels, as the paper's Figs 8-12: generator and discriminator loss, and the
    discriminator's accuracy on real and on generated ROIs, each with a moving average over ``smooth``
    iterations. Only rank 0 writes.
    """

    def __init__(
        self,
        output_dir: str | PathLike,
        keys: Sequence[str] = ("g_loss", "d_loss", "d_real_acc", "d_fake_acc"),
        smooth: int = 25,
    ):
        self.output_dir = Path(output_dir)
        self.keys = tuple(keys)
        self.smooth = smooth
        self.rows: list[list[float]] = []

    def attach(self, engine: Engine) -> None:
        engine.add_event_handler(Events.ITERATION_COMPLETED, self.record)
        engine.add_event_handler(Events.COMPLETED, self.write)

    def record(self, engine: Engine) -> None:
        output = engine.state.output
        self.rows.append([engine.state.iteration] + [float(output[k]) for k in self.keys])

    def _moving_average(self, values: np.ndarray) -> np.ndarray:
        window = max(1, min(self.smooth, len(values)))
        return np.convolve(values, np.ones(window) / window, mode="valid")

    def write(self, engine: Engine | None = None) -> None:
        if idist.get_rank() != 0 or not self.rows:
            return
        self.output_dir.mkdir(parents=True, exist_ok=True)
        with open(self.output_dir / "curves.csv", "w", newline="") as f:
            csv.writer(f).writerows([("iteration", *self.keys), *self.rows])
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        data = np.asarray(self.rows)
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
        for k, key in enumerate(self.keys):
            axis = axes[0] if "loss" in key else axes[1]
            smoothed = self._moving_average(data[:, k + 1])
            axis.plot(data[len(data) - len(smoothed) :, 0], smoothed, label=key)
        axes[0].set(title="losses", xlabel="iteration")
        axes[1].set(title="discriminator accuracy", xlabel="iteration", ylim=(0, 1))
        for axis in axes:
            axis.legend()
        fig.tight_layout()
        fig.savefig(self.output_dir / "curves.png", dpi=100)
        plt.close(fig)
