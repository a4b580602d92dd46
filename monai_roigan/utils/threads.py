"""Torch's intra-op thread count, set for a block of code and restored after it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


@contextlib.contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Run the block with ``count`` torch intra-op threads (``torch.set_num_threads``), then restore the caller's
    count, also when the block raises. Sums over threads run in another order with another count, so results that
    must not depend on ``OMP_NUM_THREADS`` (a benchmark's classifier, kernels prepared before workers fork) pin it."""
    if count < 1:
        raise ValueError(f"torch_threads: count must be at least 1, got {count}")
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
