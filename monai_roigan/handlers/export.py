"""Export the trained generator's weights (the EMA copy when there is one) at the end of training."""

from __future__ import annotations

from os import PathLike
from pathlib import Path

import ignite.distributed as idist
import torch
from ignite.engine import Engine, Events
from torch.optim.swa_utils import AveragedModel

from monai_roigan.utils.atomic import atomic_write

__all__ = ["ExportGenerator"]


class ExportGenerator:
    """On ``COMPLETED``, atomically save ``network``'s ``state_dict`` (the inner module of an EMA wrapper).

    The file is a plain state dict of tensors, loadable with ``torch.load(weights_only=True)`` into the
    bundle's ``network_def`` (``models/model.pt`` in MONAI bundle convention). Only rank 0 writes.
    """

    def __init__(self, network: torch.nn.Module, path: str | PathLike):
        self.network, self.path = network, Path(path)

    def attach(self, engine: Engine) -> None:
        engine.add_event_handler(Events.COMPLETED, self)

    def __call__(self, engine: Engine | None = None) -> Path:
        if idist.get_rank() == 0:
            module = self.network.module if isinstance(self.network, AveragedModel) else self.network
            state = {k: v.detach().cpu() for k, v in module.state_dict().items()}
            atomic_write(self.path, lambda tmp: torch.save(state, tmp))
        return self.path
