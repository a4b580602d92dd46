"""Torch's intra-op thread count, set for a block of code and restored after it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


@contextlib.contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Run the block with ``count`` torch intra-op threads (``torch.set_num_threads``), then restore the caller's
    count, also when the block raises. Pin it where results must not depend on ``OMP_NUM_THREADS`` (a reduction
    split over another thread count sums in another order), where a measurement needs a given count, or to prepare
    kernels for the count ``DataLoader`` workers use."""
    if count < 1:
        raise ValueError(f"torch_threads: count must be at least 1, got {count}")
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
