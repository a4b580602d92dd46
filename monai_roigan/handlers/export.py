"""Export the trained generator's weights (the EMA copy when there is one) at the end of training.

With ``from_best``, the exported weights are the ``key`` entry of the best-scoring checkpoint, read from
``engine.state.best_checkpoint`` (which :class:`~monai_roigan.handlers.GanCheckpointSaver` sets), instead of the
final weights. Every score is taken by the last iteration's ``ITERATION_COMPLETED`` at the latest, so the best
checkpoint is known before ``COMPLETED``, whatever order the handlers were attached in.
"""

from __future__ import annotations

import logging
from os import PathLike
from pathlib import Path

import ignite.distributed as idist
import torch
from ignite.engine import Engine, Events
from torch.optim.swa_utils import AveragedModel

from monai_roigan.networks.loading import generator_state
from monai_roigan.utils.atomic import atomic_write
from monai_roigan.utils.safe_load import load_state_file

__all__ = ["ExportGenerator"]


def _save(state: dict, path: str) -> None:
    """``torch.save`` through a file object: the archive's inner folder is then always ``archive`` (a path would
    name it after the temporary file), so the same weights give the same bytes."""
    with open(path, "wb") as f:
        torch.save(state, f)


class ExportGenerator:
    """On ``COMPLETED``, atomically save ``network``'s ``state_dict`` (the inner module of an EMA wrapper).

    The file is a plain state dict of tensors, loadable with ``torch.load(weights_only=True)`` into the
    bundle's ``network_def`` (``models/model.pt`` in MONAI bundle convention). Only rank 0 writes.

    Args:
        network: the generator (or its :class:`~torch.optim.swa_utils.AveragedModel`).
        path: output file.
        from_best: export the best checkpoint (``engine.state.best_checkpoint``) instead, when one was saved (the
            network itself is left as it is).
        key: the entry of the checkpoint to export (``"ema"`` or ``"generator"``).
    """

    def __init__(self, network: torch.nn.Module, path: str | PathLike, from_best: bool = True, key: str = "ema"):
        self.network = network
        self.path = Path(path)
        self.from_best = bool(from_best)
        self.key = key
        self.logger = logging.getLogger("monai_roigan.export")

    def _best_state(self, engine: Engine | None) -> dict | None:
        best = getattr(engine.state, "best_checkpoint", None) if self.from_best and engine is not None else None
        if best is None:
            return None
        path = Path(best)
        self.logger.info(f"exporting {self.key!r} of the best checkpoint {path}")
        return generator_state({self.key: load_state_file(path)[self.key]})  # an EMA entry unwrapped

    def module(self) -> torch.nn.Module:
        return self.network.module if isinstance(self.network, AveragedModel) else self.network

    def attach(self, engine: Engine) -> None:
        engine.add_event_handler(Events.COMPLETED, self)

    def __call__(self, engine: Engine | None = None) -> Path:
        if idist.get_rank() == 0:
            state = self._best_state(engine) or {k: v.detach().cpu() for k, v in self.module().state_dict().items()}
            atomic_write(self.path, lambda tmp: _save(state, tmp))
        return self.path
