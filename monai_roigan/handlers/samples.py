"""Per-class sample grids from a fixed noise batch, as PNG files and TensorBoard images."""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike
from pathlib import Path

import ignite.distributed as idist
import numpy as np
import torch
from ignite.engine import Engine, Events

from monai_roigan.networks.sampling import run_generator, sample_latent
from monai_roigan.utils.visualize import labelled_rows, save_png, tile_images, to_uint8

__all__ = ["FixedNoiseSamples"]


class FixedNoiseSamples:
    """Every ``interval`` epochs and at the end, draw ``per_class`` ROIs per class from the same noise.

    Writes ``<output_dir>/epoch_<NNNN>.png`` and ``final.png`` (one row per class) and, with a TensorBoard
    ``summary_writer``, one image per class under ``samples/<class>``. Only rank 0 writes.

    Args:
        network: the generator to sample (preferably the EMA generator).
        class_names: one row per class; labels 0..K-1 are passed when ``conditional``.
        output_dir: PNG folder.
        per_class: ROIs per class.
        latent_dim, latent_distribution, seed: the fixed noise.
        conditional: pass labels to the generator.
        interval: epochs between grids.
    """

    def __init__(
        self,
        network: torch.nn.Module,
        class_names: Sequence[str],
        output_dir: str | PathLike,
        per_class: int = 8,
        latent_dim: int = 100,
        latent_distribution: str = "uniform",
        seed: int = 1234,
        conditional: bool = True,
        interval: int = 1,
        summary_writer=None,
    ):
        self.network, self.class_names = network, list(class_names)
        self.output_dir = Path(output_dir)
        self.per_class = per_class
        self.interval = interval
        self.writer = summary_writer
        count = per_class * len(self.class_names)
        self.z = sample_latent(count, latent_dim, latent_distribution, torch.Generator().manual_seed(seed))
        labels = torch.arange(len(self.class_names)).repeat_interleave(per_class)
        self.labels = labels if conditional else None

    def attach(self, engine: Engine) -> None:
        engine.add_event_handler(Events.EPOCH_COMPLETED(every=self.interval), self, "epoch")
        engine.add_event_handler(Events.COMPLETED, self, "final")

    def grid(self) -> list[tuple[str, np.ndarray]]:
        """One (class name, uint8 row of ``per_class`` tiles) per class, from the fixed noise."""
        images = run_generator(self.network, self.z, self.labels)
        rows = []
        for k, name in enumerate(self.class_names):
            block = to_uint8(images[k * self.per_class : (k + 1) * self.per_class].numpy())
            rows.append((name, tile_images(list(block), self.per_class)))
        return rows

    def __call__(self, engine: Engine, tag: str) -> None:
        if idist.get_rank() != 0:
            return
        rows = self.grid()
        self.output_dir.mkdir(parents=True, exist_ok=True)
        name = "final.png" if tag == "final" else f"epoch_{engine.state.epoch:04d}.png"
        save_png(labelled_rows(rows), self.output_dir / name)
        if self.writer is not None:
            for label, tile in rows:
                self.writer.add_image(f"samples/{label}", tile, engine.state.iteration, dataformats="HW")
