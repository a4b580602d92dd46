"""Tissue texture of a phantom breast: fibroglandular tissue, Cooper's ligaments, ducts, vessels and the
attenuation map of the normal breast."""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage as ndi
from scipy.special import expit

from monai_roigan.data.phantom.anatomy import _Anatomy
from monai_roigan.data.phantom.common import _REF_SIZE
from monai_roigan.data.phantom.primitives import (
    _draw_polyline,
    _level_set_lines,
    _power_law_noise,
    _smoothstep,
    _wobbly_path,
)

# per tissue class: (glandular area fraction range, glandular attenuation range, fat attenuation range)
_TISSUE_PARAMS: dict[str, tuple[tuple[float, float], tuple[float, float], tuple[float, float]]] = {
    "F": ((0.06, 0.16), (0.45, 0.7), (0.55, 0.72)),
    "G": ((0.22, 0.38), (0.7, 0.95), (0.6, 0.8)),
    "D": ((0.45, 0.65), (0.8, 1.05), (0.7, 0.9)),
}


def _nipple_polar_sample(anatomy: _Anatomy, base: np.ndarray, radial_scale: float) -> np.ndarray:
    """Resample ``base`` in a polar frame around the nipple, normalised to unit standard deviation.

    Output pixel at distance ``r`` and angle ``a`` from the nipple reads ``base`` at
    ``(radial_scale * r, 400 px * a)`` (``base`` is periodic): with ``radial_scale < 1`` features stretch
    along rays through the nipple (by ``1 / radial_scale`` at 400 px from it) and widen with distance from
    it, like breast ducts, trabeculae and the lobes between Cooper's ligaments. The seam at ``a = +-pi``
    lies beyond the nipple, outside the breast.
    """
    size, s = anatomy.size, anatomy.size / _REF_SIZE
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float32)
    dr, dc = rows - anatomy.nipple[0], cols - anatomy.nipple[1]
    radius = np.hypot(dr, dc)
    angle = np.arctan2(dr, -dc)  # 0 pointing from the nipple to the chest wall
    coords = np.stack([radius * radial_scale, angle * 400 * s])
    polar = ndi.map_coordinates(base, coords, order=1, mode="grid-wrap").astype(np.float32)
    polar /= max(float(polar.std()), 1e-6)
    # within ~150 px of the nipple every ray meets: fade to the unwarped field to avoid a starburst
    w = _smoothstep(radius, 60 * s, 260 * s)
    iso = base / max(float(base.std()), 1e-6)
    return ((w * polar + (1 - w) * iso) / np.sqrt(w * w + (1 - w) ** 2)).astype(np.float32)


def _lobule_field(rng: np.random.Generator, anatomy: _Anatomy) -> np.ndarray:
    """Smooth 1/f^3 field whose zero level set outlines fat lobules (Cooper's ligaments).

    Band-limited (lobes 80-250 px across, blurred so the level set is made of long smooth arcs, not
    wiggles) and stretched 1.6x towards the nipple.
    """
    size, s = anatomy.size, anatomy.size / _REF_SIZE
    base = _power_law_noise(rng, (size, size), 3.0, longest=rng.uniform(150, 250) * s)
    return _nipple_polar_sample(anatomy, ndi.gaussian_filter(base, 7.0 * s), 0.6)


def _radial_field(rng: np.random.Generator, anatomy: _Anatomy) -> np.ndarray:
    """1/f noise stretched 3x towards the nipple: ducts and trabeculae pointing at it."""
    size, s = anatomy.size, anatomy.size / _REF_SIZE
    base = ndi.gaussian_filter(_power_law_noise(rng, (size, size), 2.6, longest=120 * s), 2.5 * s)
    return _nipple_polar_sample(anatomy, base, 0.33)


def _fibroglandular_tissue(
    rng: np.random.Generator, anatomy: _Anatomy, tissue: str, ducts: np.ndarray, lobules: np.ndarray
) -> np.ndarray:
    """Glandular fraction in [0, 1] (float32 (H, W)): soft-thresholded 1/f^3 noise inside the envelope.

    The threshold is the quantile that gives the tissue class its glandular area fraction; the radial duct
    field streaks it towards the nipple; fat lobules (the interiors of the ligament network) punch darker
    holes into it; a finer field mottles it.
    """
    size, s = anatomy.size, anatomy.size / _REF_SIZE
    frac_range = _TISSUE_PARAMS[tissue][0]
    blobs = _power_law_noise(rng, (size, size), 3.0, longest=260 * s)
    fine = _power_law_noise(rng, (size, size), 2.6, longest=40 * s)
    z = 1.5 * anatomy.envelope + 0.6 * blobs + 0.3 * ducts
    inside = z[anatomy.mask][::7]
    thresh = np.quantile(inside, 1 - rng.uniform(*frac_range)) if inside.size else 0.0
    gland = expit((z - thresh) / 0.3)
    holes = _smoothstep(np.abs(lobules), 0.4, 1.8)
    gland *= (1 - 0.4 * holes) * (0.9 + 0.1 * fine)
    gland *= _smoothstep(anatomy.skin_dist, 6 * s, 50 * s) * (1 - anatomy.pectoral)
    return ndi.gaussian_filter(gland, 1.2 * s).astype(np.float32)


def _vessels(rng: np.random.Generator, anatomy: _Anatomy) -> np.ndarray:
    """1-3 long, gently curving vessels running from the upper chest wall towards the nipple region."""
    size, s = anatomy.size, anatomy.size / _REF_SIZE
    layer = np.zeros((size, size), np.float32)
    for _ in range(rng.integers(1, 4)):
        start = np.array(
            [rng.uniform(0.05, 0.6) * size, anatomy.chest_col + rng.uniform(0.1, 0.4) * anatomy.depth.max()]
        )
        target = np.array(anatomy.nipple) + rng.normal(0, 80 * s, 2)
        angle = math.atan2(target[0] - start[0], target[1] - start[1])
        length = float(np.hypot(*(target - start))) * rng.uniform(0.5, 0.9)
        path = _wobbly_path(rng, start, angle, length, 14, 0.08)
        _draw_polyline(layer, path, rng.uniform(2.0, 3.5) * s, 1.0 * s, rng.uniform(0.5, 1.0))
    return ndi.gaussian_filter(layer, 0.6 * s) * anatomy.mask


def _linear_structures(
    rng: np.random.Generator, anatomy: _Anatomy, ducts: np.ndarray, lobules: np.ndarray
) -> np.ndarray:
    """Cooper's ligaments, ducts/trabeculae and vessels as one float32 (H, W) layer in [0, ~2].

    Ligaments are the zero level set of the lobule field (arcs around fat lobules), present in patches;
    trabeculae are level sets of the radial field (pointing at the nipple, faded right at the nipple).
    """
    size, s = anatomy.size, anatomy.size / _REF_SIZE
    presence = np.clip(0.65 + 0.5 * _power_law_noise(rng, (size, size), 3.0, longest=300 * s), 0, 1)
    ligaments = _level_set_lines(lobules, rng.uniform(0.6, 0.95) * s) * presence
    rows, cols = np.ogrid[0:size, 0:size]
    near_nipple = np.hypot(rows - anatomy.nipple[0], cols - anatomy.nipple[1])
    trabeculae = _level_set_lines(ducts, 0.8 * s) * _smoothstep(near_nipple, 100 * s, 400 * s)
    lines = ligaments + 0.3 * trabeculae + 0.8 * _vessels(rng, anatomy)
    return (lines * (1 - 0.85 * anatomy.pectoral)).astype(np.float32)


def _normal_attenuation(rng: np.random.Generator, anatomy: _Anatomy, tissue: str) -> tuple[np.ndarray, np.ndarray]:
    """Attenuation map of the normal breast (before the film curve) and its glandular fraction.

    ``att = thickness * (fat + gland_att * gland + line_att * lines) + muscle + skin``, in arbitrary units
    (fat ~0.6, dense gland ~1.6, pectoral ~1.9; the film saturates around 3). Both float32 (H, W).
    """
    size, s = anatomy.size, anatomy.size / _REF_SIZE
    fat_att = rng.uniform(*_TISSUE_PARAMS[tissue][2])
    gland_att = rng.uniform(*_TISSUE_PARAMS[tissue][1])
    ducts = _radial_field(rng, anatomy)
    lobules = _lobule_field(rng, anatomy)
    gland = _fibroglandular_tissue(rng, anatomy, tissue, ducts, lobules)
    lines = _linear_structures(rng, anatomy, ducts, lobules)
    line_att = rng.uniform(0.15, 0.25) * (1 - 0.8 * gland)
    # fat is not flat: lobule interiors slightly lucent, plus a gentle large-scale variation
    fat = fat_att * (1 - 0.07 * _smoothstep(np.abs(lobules), 0.2, 1.5))
    fat *= 1 + 0.05 * _power_law_noise(rng, (size, size), 3.0, longest=400 * s)
    att = anatomy.thickness * (fat + gland_att * gland + line_att * lines)
    muscle_texture = 1 + 0.05 * _power_law_noise(rng, (size, size), 3.0, longest=150 * s)
    att += rng.uniform(0.9, 1.3) * anatomy.muscle * muscle_texture * np.sqrt(anatomy.thickness)
    att += 0.05 * np.exp(-anatomy.skin_dist / (3 * s)) * anatomy.mask  # skin line
    return att.astype(np.float32), gland
