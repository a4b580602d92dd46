"""Export the trained generator's weights (the EMA copy when there is one) at the end of training.

With ``best_from`` (a :class:`~monai_roigan.handlers.GanCheckpointer` that kept best checkpoints), the
exported weights are the ``key`` entry of the best-scoring checkpoint instead of the final weights.
"""

from __future__ import annotations

import logging
from os import PathLike
from pathlib import Path

import ignite.distributed as idist
import torch
from ignite.engine import Engine, Events
from ignite.handlers import DiskSaver
from torch.optim.swa_utils import AveragedModel

from monai_roigan.handlers.checkpoint import GanCheckpointer
from monai_roigan.utils.atomic import atomic_write
from monai_roigan.utils.safe_load import load_state_file

__all__ = ["ExportGenerator"]


class ExportGenerator:
    """On ``COMPLETED``, atomically save ``network``'s ``state_dict`` (the inner module of an EMA wrapper).

    The file is a plain state dict of tensors, loadable with ``torch.load(weights_only=True)`` into the
    bundle's ``network_def`` (``models/model.pt`` in MONAI bundle convention). Only rank 0 writes.

    Args:
        network: the generator (or its :class:`~torch.optim.swa_utils.AveragedModel`).
        path: output file.
        best_from: export the best checkpoint of this checkpointer instead, when it saved one (the network
            itself is left as it is); attach this handler after the scoring handler so that a score taken at
            the last iteration counts.
        key: the entry of the checkpoint to export (``"ema"`` or ``"generator"``).
    """

    def __init__(
        self, network: torch.nn.Module, path: str | PathLike, best_from: GanCheckpointer | None = None, key: str = "ema"
    ):
        self.network, self.path, self.best_from, self.key = network, Path(path), best_from, key
        self.logger = logging.getLogger("monai_roigan.export")

    def _best_state(self) -> dict | None:
        best = None if self.best_from is None else self.best_from.best
        if best is None or best.last_checkpoint is None:
            return None
        path = Path(best.last_checkpoint)  # Ignite gives DiskSaver's folder / file name: a path as it is
        if not isinstance(best.save_handler, DiskSaver):
            path = self.best_from.save_dir / path
        state = load_state_file(path)[self.key]
        self.logger.info(f"exporting {self.key!r} of the best checkpoint {path}")
        return {k.removeprefix("module."): v for k, v in state.items() if k != "n_averaged"}

    def module(self) -> torch.nn.Module:
        return self.network.module if isinstance(self.network, AveragedModel) else self.network

    def attach(self, engine: Engine) -> None:
        engine.add_event_handler(Events.COMPLETED, self)

    def __call__(self, engine: Engine | None = None) -> Path:
        if idist.get_rank() == 0:
            state = self._best_state() or {k: v.detach().cpu() for k, v in self.module().state_dict().items()}
            atomic_write(self.path, lambda tmp: torch.save(state, tmp))
        return self.path
