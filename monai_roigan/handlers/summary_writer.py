"""A TensorBoard writer for rank 0 only: the other ranks of a ``torchrun`` job get one that writes nothing."""

from __future__ import annotations

from os import PathLike

import ignite.distributed as idist
from torch.utils.tensorboard import SummaryWriter

__all__ = ["NullSummaryWriter", "rank_zero_summary_writer"]


class NullSummaryWriter:
    """Accepts every ``SummaryWriter`` call (``add_scalar``, ``add_image``, ``flush``, ``close``...) and does
    nothing."""

    def __getattr__(self, name: str):
        return lambda *args, **kwargs: None


def rank_zero_summary_writer(log_dir: str | PathLike) -> SummaryWriter | NullSummaryWriter:
    """A real :class:`SummaryWriter` on rank 0 (or in a single process), a :class:`NullSummaryWriter` elsewhere."""
    return SummaryWriter(log_dir=str(log_dir)) if idist.get_rank() == 0 else NullSummaryWriter()
