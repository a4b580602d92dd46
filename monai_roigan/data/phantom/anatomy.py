"""Anatomy of a phantom breast in canonical orientation (chest wall on the left): outline, film extent,
thickness, pectoral muscle and gland envelope."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage as ndi

from monai_roigan.data.phantom.common import _REF_SIZE
from monai_roigan.data.phantom.primitives import _smoothstep
from monai_roigan.utils.seeding import derived_rng


@dataclass
class _Anatomy:
    """Breast geometry in canonical orientation (chest wall on the left). Lengths in pixels.

    Attributes:
        size: image side.
        chest_col: first film column; columns left of it are black padding.
        film_end: one past the last film column on the far side; columns from it on are black padding.
        depth: (H,) breast depth from ``chest_col`` per row (0 where there is no breast).
        nipple: (row, col) of the nipple.
        mask: (H, W) bool, breast tissue.
        skin_dist: (H, W) float32, distance in pixels to the skin line inside the breast (0 outside).
        thickness: (H, W) float32 in [0, 1], relative compressed thickness (1 in the interior).
        pectoral: (H, W) float32 in [0, 1], soft pectoral muscle mask.
        muscle: (H, W) float32 in [0, 1], relative pectoral muscle thickness.
        envelope: (H, W) float32 in [0, 1], where fibroglandular tissue tends to be.
    """

    size: int
    chest_col: int
    film_end: int
    depth: np.ndarray
    nipple: tuple[float, float]
    mask: np.ndarray
    skin_dist: np.ndarray
    thickness: np.ndarray
    pectoral: np.ndarray = field(default=None)  # type: ignore[assignment]
    muscle: np.ndarray = field(default=None)  # type: ignore[assignment]
    envelope: np.ndarray = field(default=None)  # type: ignore[assignment]


def _breast_depth_profile(rng: np.random.Generator, size: int) -> tuple[np.ndarray, float]:
    """Breast depth (pixels from the chest wall) per row and the nipple row.

    The MLO outline: at the top the image cuts through the axillary tail (already 45-85 % of the maximal
    depth); the outline runs down and out to the nipple (maximal depth, 40-60 % of the image width) and
    curves back towards the inframammary fold, which may lie below the image.
    """
    t = (np.arange(size, dtype=np.float32) + 0.5) / size
    max_depth = rng.uniform(0.40, 0.60) * size
    t_nipple = rng.uniform(0.50, 0.68)
    top = rng.uniform(0.45, 0.85)
    t_fold = rng.uniform(0.92, 1.18)
    p_up, p_low = rng.uniform(1.8, 3.0), rng.uniform(1.8, 2.8)
    x_up = np.clip(t / t_nipple, 0, 1)
    upper = top + (1 - top) * (1 - (1 - x_up) ** p_up)
    v = np.clip((t - t_nipple) / (t_fold - t_nipple), 0, 1)
    lower = (1 - v**p_low) ** (1 / p_low)
    frac = np.where(t < t_nipple, upper, lower)
    wobble = sum(rng.normal(0, 0.01 / k) * np.sin(np.pi * k * t + rng.uniform(0, 2 * np.pi)) for k in range(1, 4))
    depth = max_depth * frac * (1 + wobble)
    nipple_row = t_nipple * size
    bump = rng.uniform(0, 6) * size / _REF_SIZE  # nipple in profile
    depth += bump * np.exp(-0.5 * ((np.arange(size) - nipple_row) / (22 * size / _REF_SIZE)) ** 2)
    return np.maximum(depth, 0).astype(np.float32), float(nipple_row)


def _skin_distance(mask: np.ndarray, reach: float) -> np.ndarray:
    """Distance (pixels) to the skin line inside ``mask``, computed at half resolution.

    The breast continues beyond the chest-wall edge (left) and beyond the top and bottom image edges, so
    the mask is extended there before the distance transform: only the skin line makes the tissue thin.
    """
    pad = int(math.ceil(reach / 2)) + 2
    half = mask[::2, ::2]
    ext = np.pad(half, ((pad, pad), (0, pad)), mode="edge")
    ext = np.pad(ext, ((0, 0), (pad, 0)), constant_values=True)
    dist = ndi.distance_transform_edt(ext)[pad:-pad, pad:-pad].astype(np.float32) * 2
    full = np.repeat(np.repeat(dist, 2, axis=0), 2, axis=1)[: mask.shape[0], : mask.shape[1]]
    return np.where(mask, ndi.uniform_filter(full, 2), 0).astype(np.float32)


def _pectoral_muscle(rng: np.random.Generator, anatomy: _Anatomy) -> tuple[np.ndarray, np.ndarray]:
    """Pectoral muscle: a slightly curved triangle in the upper chest-wall corner.

    Its width at the top is 35-70 % of the breast depth there; it runs down the chest wall to 30-90 % of
    the image height; the boundary bulges (exponent < 1) or sags (> 1) slightly.

    Returns:
        ``(mask, thickness)``: float32 (H, W) soft mask in [0, 1] (edge a few pixels wide) and relative
        muscle thickness in [0, 1], growing from 0.55 at its free edge to 1 at the chest wall.
    """
    size, s = anatomy.size, anatomy.size / _REF_SIZE
    rows = np.arange(size, dtype=np.float32)
    top_width = rng.uniform(0.35, 0.7) * anatomy.depth[0]
    height = rng.uniform(0.3, 0.9) * size
    curve = rng.uniform(0.6, 1.3)
    width = top_width * np.clip(1 - rows / height, 0, 1) ** curve
    width = np.minimum(width, anatomy.depth - 40 * s)
    cols = np.arange(size, dtype=np.float32)[None, :] - anatomy.chest_col
    edge = rng.uniform(3.0, 8.0) * s
    inside = width[:, None] - cols
    mask = np.clip(inside / edge + 0.5, 0, 1).astype(np.float32)
    grow = np.clip(inside / np.maximum(width[:, None], 1), 0, 1)
    return mask, (mask * (0.55 + 0.45 * np.sqrt(grow))).astype(np.float32)


def _gland_envelope(rng: np.random.Generator, anatomy: _Anatomy, tissue: str) -> np.ndarray:
    """Where fibroglandular tissue lies: a broad retro-areolar cone, wider for dense breasts.

    Uses the relative depth (0 at the chest wall, 1 at the skin) so the envelope follows the outline; zero
    in the subcutaneous fat next to the skin and inside the pectoral muscle.
    """
    size, s = anatomy.size, anatomy.size / _REF_SIZE
    spread = {"F": 0.8, "G": 1.0, "D": 1.25}[tissue]
    rows = np.arange(size, dtype=np.float32)[:, None]
    cols = np.arange(size, dtype=np.float32)[None, :] - anatomy.chest_col
    rel = cols / np.maximum(anatomy.depth[:, None], 1)
    centre_rel = rng.uniform(0.35, 0.6)
    centre_row = anatomy.nipple[0] + rng.uniform(-0.08, 0.06) * size
    width_rel = rng.uniform(0.28, 0.4) * spread
    height = rng.uniform(0.2, 0.3) * size * spread
    env = np.exp(-(((rel - centre_rel) / width_rel) ** 2) - ((rows - centre_row) / height) ** 2)
    env *= _smoothstep(anatomy.skin_dist, 12 * s, 70 * s) * (1 - anatomy.pectoral)
    return env.astype(np.float32)


def _build_anatomy(seed: int, refnum: int, tissue: str, size: int) -> _Anatomy:
    """Outline, film extent, thickness, pectoral muscle and gland envelope of one phantom (canonical)."""
    rng = derived_rng(seed, "phantom", refnum, "anatomy")
    s = size / _REF_SIZE
    depth, nipple_row = _breast_depth_profile(rng, size)
    # real MIAS films are centred in the 1024-pixel matrix: the chest wall mostly lies 120-220 px from the edge
    chest_col = int(rng.uniform(0, 40) * s) if rng.random() < 0.25 else int(rng.uniform(120, 220) * s)
    depth = np.minimum(depth, size - chest_col - 60 * s)
    far_gap = 0 if rng.random() < 0.4 else rng.uniform(20, 200) * s
    film_end = int(max(size - far_gap, chest_col + depth.max() + 60 * s))
    film_end = min(film_end, size)
    cols = np.arange(size, dtype=np.float32)[None, :] - chest_col
    mask = (cols >= 0) & (cols < depth[:, None])
    reach = rng.uniform(90, 170) * s
    skin = _skin_distance(mask, reach)
    x = np.clip(skin / reach, 0, 1)
    thickness = (1 - (1 - x) ** rng.uniform(1.6, 2.4)).astype(np.float32)
    anatomy = _Anatomy(
        size, chest_col, film_end, depth, (nipple_row, chest_col + float(depth.max())), mask, skin, thickness
    )
    pectoral, muscle = _pectoral_muscle(rng, anatomy)
    anatomy.pectoral, anatomy.muscle = pectoral * mask, muscle * mask
    anatomy.envelope = _gland_envelope(rng, anatomy, tissue)
    return anatomy
