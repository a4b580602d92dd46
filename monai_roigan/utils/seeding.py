"""Deterministic random streams that do not depend on processing order."""

from __future__ import annotations

import zlib

import numpy as np

__all__ = ["derived_rng"]


def derived_rng(seed: int, *keys: str | int) -> np.random.Generator:
    """Return a NumPy generator seeded by ``seed`` and a tuple of keys (e.g. an image name).

    The stream for ``("mdb001", 0)`` is the same whether that image is processed first or last, in one
    process or in a worker, so ROI sampling and phantom drawing are reproducible per item.
    """
    words = [int(seed) & 0xFFFFFFFF]
    for key in keys:
        words.append(zlib.crc32(str(key).encode("utf-8")))
    return np.random.default_rng(words)
