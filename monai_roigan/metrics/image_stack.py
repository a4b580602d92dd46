"""The stack of single-channel images every per-image metric takes."""

from __future__ import annotations

import numpy as np

__all__ = ["gray_stack"]


def gray_stack(images) -> np.ndarray:
    """(N, H, W) float64 from images (N, 1, H, W) or (N, H, W), values unchanged.

    Raises:
        ValueError: more than one channel, or another number of dimensions (the shape is named).
    """
    array = np.asarray(images, dtype=np.float64)
    if array.ndim == 4:
        if array.shape[1] != 1:
            raise ValueError(f"expected one channel, got shape {array.shape}")
        array = array[:, 0]
    if array.ndim != 3:
        raise ValueError(f"expected (N, 1, H, W) or (N, H, W) images, got shape {array.shape}")
    return array
