"""Process-group helpers for runs under ``torchrun``; each is a no-op in a single process.

- :func:`rank_zero_first`: rank 0 runs a block first (e.g. building the phantom and the ROI cache), the other
  ranks after it, so they reuse its result instead of racing to write the same files.
- :func:`shard_indices`: this rank's disjoint share of a list (sharded generation).
- :func:`gather_objects`, :func:`broadcast_object`: move small picklable objects between ranks.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import ignite.distributed as idist
import torch.distributed as dist

__all__ = ["is_distributed", "rank_zero_first", "shard_indices", "gather_objects", "broadcast_object"]


def is_distributed() -> bool:
    """True inside an initialised process group of more than one rank."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def shard_indices(indices: Sequence[int]) -> list[int]:
    """This rank's share of ``indices``: every ``world_size``-th element starting at its rank."""
    return list(indices)[idist.get_rank() :: idist.get_world_size()]


@contextlib.contextmanager
def rank_zero_first():
    """Rank 0 runs the block first (e.g. to build a cache), the other ranks after it (and then reuse it).

    Rank 0 reaches the barrier even when its block raises, so the other ranks never wait for a crashed rank.
    """
    if not is_distributed():
        yield
        return
    if dist.get_rank() != 0:
        dist.barrier()
    try:
        yield
    finally:
        if dist.get_rank() == 0:
            dist.barrier()


def gather_objects(items: list) -> list:
    """The concatenation of every rank's ``items`` (picklable objects), in rank order, on every rank."""
    if not is_distributed():
        return list(items)
    return [item for part in idist.all_gather(list(items)) for item in part]  # Ignite gathers picklable objects


def broadcast_object(obj, src: int = 0):
    """Rank ``src``'s ``obj`` on every rank (picklable)."""
    if not is_distributed():
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=src)
    return box[0]
