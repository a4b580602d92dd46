"""The dihedral copies of ROIs (90-degree rotations and their mirror images): the paper's augmentation."""

from __future__ import annotations

import numpy as np

__all__ = ["AUGMENT_MODES", "dihedral_variants"]

#: ``none``: the ROI itself; ``rot90``: its 4 rotations; ``dihedral``: the rotations and their mirror images (8)
AUGMENT_MODES = ("none", "rot90", "dihedral")


def dihedral_variants(images: np.ndarray, mode: str) -> list[tuple[str, np.ndarray]]:
    """Named copies of ``images`` rotated in, and mirrored along, their last two axes (rows, columns).

    Works on one ROI (C, H, W) or a stack (N, C, H, W) alike. The order is fixed: ``r0``, ``r90``, ``r180``,
    ``r270`` (counter-clockwise), then (``dihedral``) the same four flipped left-right, ``r0-flip`` ... .

    Args:
        images: array whose last two axes are the image (H, W).
        mode: one of :data:`AUGMENT_MODES`.

    Returns:
        ``[(name, contiguous copy)]``: 1, 4 or 8 entries.
    """
    if mode not in AUGMENT_MODES:
        raise ValueError(f"augment must be one of {AUGMENT_MODES}, got {mode!r}")
    turns = 1 if mode == "none" else 4
    out = [(f"r{90 * k}", np.rot90(images, k, axes=(-2, -1))) for k in range(turns)]
    if mode == "dihedral":
        out += [(f"{name}-flip", np.flip(r, axis=-1)) for name, r in out]
    return [(name, np.ascontiguousarray(r)) for name, r in out]
