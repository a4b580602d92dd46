"""Deterministic phantom MLO film mammograms in the exact layout of the MIAS (mini-MIAS) database.

The package trains and tests without the real MIAS data by generating a stand-in folder with the same file
layout: ``mdb001.pgm`` ... (binary PGM, ``P5``, 8-bit, ``size`` x ``size`` pixels, default 1024) and an
``Info.txt`` table in the exact MIAS row format, e.g. ``mdb001 G CIRC B 535 425 197``.

Conventions (the same as MIAS and the rest of this package):

* pixels are 200 micron (0.2 mm) at ``size=1024``; every length below is given for 1024 pixels and scaled by
  ``size / 1024`` for other sizes;
* arrays are (H, W) with row 0 at the top (*top-left* origin); ``Info.txt`` stores ``x = col`` and
  ``y = size - row`` (*bottom-left* origin, as in the real file);
* even reference numbers are left breasts with the chest wall on the left image edge, odd ones right breasts
  with the chest wall on the right edge; every image is a medio-lateral oblique (MLO) view.

How an image is made (one function per anatomical element or lesion type). The anatomy is drawn in a
*canonical* orientation, chest wall on the left, and mirrored at the end for right breasts:

1. outline: the breast depth from the chest wall, per row, is a smooth teardrop (axillary tail at the top,
   maximal at the nipple, curving back towards the inframammary fold), varied per image;
2. thickness: a distance transform from the skin line models the compressed breast getting thinner towards
   the skin, which gives the dark periphery of film mammograms;
3. pectoral muscle: a bright, slightly curved triangle in the upper chest-wall corner;
4. fibroglandular tissue: 1/f^beta (beta = 3 in the power spectrum) Gaussian random fields, soft-thresholded
   inside a retro-areolar density envelope; the glandular fraction is set by the MIAS tissue class
   F (fatty), G (fatty-glandular) or D (dense-glandular);
5. linear structures: Cooper's ligaments (zero level sets of a band-limited field), ducts/trabeculae (the same
   in a polar frame around the nipple, so they point towards it) and a few vessels;
6. lesions add attenuation (CIRC, SPIC, MISC, ASYM), warp the tissue (ARCH) or add specks (CALC);
7. film: attenuation goes through a saturating film characteristic curve to 8-bit grey; background is
   near-black film base with grain, the image is padded with black outside the film, a white film label
   with dark letters ("L"/"R" over "ML") sits in the upper background, sometimes a scanner artefact.

Every random draw comes from :func:`~monai_roigan.utils.seeding.derived_rng` keyed by the seed, the
reference number and the element, so image ``k`` is identical whatever ``num_images`` is, and the anatomy
of an image does not depend on its lesion class.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage as ndi
from scipy.special import expit

from monai_roigan.data.classes import MIAS_CODES, MIAS_TISSUES
from monai_roigan.data.pgm import write_pgm
from monai_roigan.utils.seeding import derived_rng

__all__ = [
    "PhantomLesion",
    "render_phantom_mammogram",
    "make_phantom_dataset",
    "format_info_row",
    "main",
    "DEFAULT_CLASS_WEIGHTS",
    "LESION_RADIUS_RANGES",
    "PHANTOM_VERSION",
]

PHANTOM_VERSION = 2
"""Bumped whenever the drawing changes, so a cached phantom folder of an older version is not reused."""

DEFAULT_CLASS_WEIGHTS: dict[str, float] = {
    "ARCH": 0.2,
    "ASYM": 0.2,
    "CALC": 0.2,
    "CIRC": 0.2 / 3,
    "SPIC": 0.2 / 3,
    "MISC": 0.2 / 3,
    "NORM": 0.2,
}
"""The paper's four classes (mass split over CIRC/SPIC/MISC) in equal shares, plus normals."""

LESION_RADIUS_RANGES: dict[str, tuple[int, int]] = {
    "CIRC": (15, 60),
    "SPIC": (15, 60),
    "MISC": (15, 60),
    "CALC": (10, 40),
    "ARCH": (20, 70),
    "ASYM": (30, 80),
}
"""Radius (pixels at 0.2 mm, ``size=1024``) of the circle enclosing each abnormality type."""

_MALIGNANT_PROBABILITY = {"CIRC": 0.2, "SPIC": 0.85, "MISC": 0.5, "CALC": 0.5, "ARCH": 0.5, "ASYM": 0.5}
_TISSUE_PROBABILITY = {"F": 1 / 3, "G": 1 / 3, "D": 1 / 3}  # MIAS itself has 106 F, 104 G, 112 D films
_SECOND_LESION_PROBABILITY = 0.1
_CODE_BLOCK = 20  # class codes are dealt from seeded shuffled decks of this many images
_MAX_IMAGES = 999  # MIAS reference numbers have three digits
_REF_SIZE = 1024  # all lengths in this module are for this size and scale with size / _REF_SIZE
_SEPARATOR = "=" * 65


@dataclass(frozen=True)
class PhantomLesion:
    """One abnormality of a phantom image, i.e. one ``Info.txt`` row.

    Attributes:
        code: MIAS class code (CALC, CIRC, SPIC, MISC, ARCH, ASYM).
        severity: ``"B"`` (benign) or ``"M"`` (malignant); None only for ``NORM``, which
            :func:`render_phantom_mammogram` never returns as a lesion (a normal image has no lesions).
        row: centre row in **top-left** pixel coordinates (``Info.txt`` stores ``y = size - row``).
        col: centre column in top-left pixel coordinates (``Info.txt`` stores ``x = col``).
        radius: radius in pixels of a circle enclosing the abnormality (for CALC: the cluster).
    """

    code: str
    severity: str | None
    row: int
    col: int
    radius: int


# --------------------------------------------------------------------------------------------------------------
# Random fields and drawing primitives
# --------------------------------------------------------------------------------------------------------------


def _power_law_noise(
    rng: np.random.Generator, shape: tuple[int, int], beta: float = 3.0, longest: float | None = None
) -> np.ndarray:
    """Gaussian random field with power spectrum ``P(f) ~ f**-beta`` (numpy FFT).

    Args:
        rng: random generator.
        shape: (H, W) of the field.
        beta: spectral exponent of the *power* spectrum (mammographic tissue: about 3).
        longest: longest wavelength in pixels; the spectrum is flat below ``1 / longest`` cycles per pixel,
            which bounds the size of the blobs (default: the field size).

    Returns:
        float32 (H, W) field with zero mean and unit standard deviation.
    """
    h, w = shape
    fy = np.fft.fftfreq(h).astype(np.float32)[:, None]
    fx = np.fft.rfftfreq(w).astype(np.float32)[None, :]
    f_low = 1.0 / (longest if longest is not None else max(h, w))
    amplitude = np.maximum(np.sqrt(fy * fy + fx * fx), np.float32(f_low)) ** np.float32(-beta / 2)
    spectrum = np.fft.rfft2(rng.standard_normal(shape, dtype=np.float32)) * amplitude
    spectrum[0, 0] = 0
    noise = np.fft.irfft2(spectrum, s=shape).astype(np.float32)
    return noise / max(float(noise.std()), 1e-12)


def _level_set_lines(fld: np.ndarray, width: float) -> np.ndarray:
    """Thin curvilinear lines along the zero level set of a smooth field.

    The zero crossings of a band-limited random field form a network of closed loops and arcs, which looks
    like Cooper's ligaments around fat lobules. Dividing by the gradient magnitude makes the line width
    roughly constant.

    Args:
        fld: (H, W) smooth field.
        width: line half-width in pixels (Gaussian sigma across the line).

    Returns:
        float32 (H, W) in [0, 1], 1 on the lines.
    """
    gy, gx = np.gradient(fld)
    grad = np.sqrt(gy * gy + gx * gx) + np.float32(1e-6)
    lines = np.exp(-0.5 * (fld / (np.float32(width) * grad)) ** 2)
    # small closed loops sit around weak extrema, where the gradient is small: fade them out
    strength = _smoothstep(grad / np.float32(np.median(grad)), 0.2, 0.8)
    return (lines * strength).astype(np.float32)


def _draw_polyline(
    target: np.ndarray, points: np.ndarray, width_start: float, width_end: float, value: float = 1.0
) -> None:
    """Draw an anti-aliased tapered polyline into ``target`` in place (maximum with what is there).

    Only the polyline's bounding box is computed, so long thin structures are cheap.

    Args:
        target: (H, W) float32 array, modified in place.
        points: (N, 2) vertices as (row, col) floats in ``target``'s pixel coordinates, N >= 2.
        width_start: full line width in pixels at the first vertex.
        width_end: full line width in pixels at the last vertex (linear taper along the arc length).
        value: intensity on the line's axis; lines narrower than 1 px get proportionally fainter.
    """
    pad = max(width_start, width_end) + 2
    r0 = max(int(np.floor(points[:, 0].min() - pad)), 0)
    r1 = min(int(np.ceil(points[:, 0].max() + pad)) + 1, target.shape[0])
    c0 = max(int(np.floor(points[:, 1].min() - pad)), 0)
    c1 = min(int(np.ceil(points[:, 1].max() + pad)) + 1, target.shape[1])
    if r1 <= r0 or c1 <= c0:
        return
    rr, cc = np.mgrid[r0:r1, c0:c1].astype(np.float32)
    layer = np.zeros(rr.shape, np.float32)
    seg_len = np.hypot(*np.diff(points, axis=0).T)
    arc = np.concatenate([[0.0], np.cumsum(seg_len)]) / max(seg_len.sum(), 1e-6)
    for k in range(len(points) - 1):
        (pr, pc), (qr, qc) = points[k], points[k + 1]
        dr, dc = qr - pr, qc - pc
        t = np.clip(((rr - pr) * dr + (cc - pc) * dc) / max(dr * dr + dc * dc, 1e-6), 0, 1)
        dist = np.hypot(rr - (pr + t * dr), cc - (pc + t * dc))
        half = 0.5 * (width_start + (arc[k] + t * (arc[k + 1] - arc[k])) * (width_end - width_start))
        np.maximum(layer, np.clip(half + 0.5 - dist, 0, 1) * np.minimum(1, 2 * half), out=layer)
    np.maximum(target[r0:r1, c0:c1], value * layer, out=target[r0:r1, c0:c1])


def _wobbly_path(
    rng: np.random.Generator, start: np.ndarray, angle: float, length: float, steps: int, bend: float
) -> np.ndarray:
    """(steps + 1, 2) vertices (row, col) of a gently curving path from ``start`` in direction ``angle``.

    ``bend`` is the standard deviation (radians) of the direction change per step.
    """
    turns = np.cumsum(rng.normal(0.0, bend, steps))
    step = length / steps
    dr = step * np.sin(angle + turns)
    dc = step * np.cos(angle + turns)
    return np.vstack([start, start + np.cumsum(np.stack([dr, dc], axis=1), axis=0)])


def _irregular_radius(rng: np.random.Generator, theta: np.ndarray, roughness: float, orders: int = 7) -> np.ndarray:
    """Radial modulation ``1 + sum_k a_k cos(k theta + phi_k)`` of a blob outline (a_k ~ roughness / k)."""
    out = np.ones_like(theta)
    for k in range(2, orders + 1):
        out += rng.normal(0.0, roughness / k) * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    return np.maximum(out, 0.4)


@dataclass
class _Window:
    """A square window around a centre, clipped to the image: slices plus offsets (pixels) from the centre."""

    sl: tuple[slice, slice]
    dy: np.ndarray  # (h, w) float32 row offsets
    dx: np.ndarray  # (h, w) float32 column offsets

    @property
    def origin(self) -> np.ndarray:
        """(row, col) of the window's top-left pixel in image coordinates."""
        return np.array([self.sl[0].start, self.sl[1].start], dtype=np.float64)

    @property
    def r(self) -> np.ndarray:
        return np.hypot(self.dy, self.dx)

    @property
    def theta(self) -> np.ndarray:
        return np.arctan2(self.dy, self.dx)

    def ellipse(self, angle: float, axis_ratio: float) -> tuple[np.ndarray, np.ndarray]:
        """Elliptic radius (pixels along the major axis) and polar angle in a frame rotated by ``angle``.

        The minor axis is ``axis_ratio`` (<= 1) times the major axis, so the elliptic radius is constant on
        ellipses of that shape.
        """
        u = self.dx * math.cos(angle) + self.dy * math.sin(angle)
        v = (self.dy * math.cos(angle) - self.dx * math.sin(angle)) / axis_ratio
        return np.hypot(u, v), np.arctan2(v, u)

    def taper(self, inner: float, outer: float) -> np.ndarray:
        """1 within ``inner`` pixels of the centre, falling smoothly to 0 at ``outer`` pixels."""
        return 1 - _smoothstep(self.r, inner, outer)


def _window(shape: tuple[int, int], row: float, col: float, half: float) -> _Window:
    """Window of half-size ``half`` pixels around (row, col), clipped to an array of ``shape``."""
    r0, r1 = max(int(row - half), 0), min(int(row + half) + 1, shape[0])
    c0, c1 = max(int(col - half), 0), min(int(col + half) + 1, shape[1])
    dy, dx = np.mgrid[r0:r1, c0:c1].astype(np.float32)
    return _Window((slice(r0, r1), slice(c0, c1)), dy - np.float32(row), dx - np.float32(col))


def _smoothstep(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    t = np.clip((x - lo) / (hi - lo), 0, 1)
    return t * t * (3 - 2 * t)


# --------------------------------------------------------------------------------------------------------------
# Anatomy (canonical orientation: chest wall on the left)
# --------------------------------------------------------------------------------------------------------------


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
    inside = (width[:, None] - cols)
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
    anatomy = _Anatomy(size, chest_col, film_end, depth, (nipple_row, chest_col + float(depth.max())),
                       mask, skin, thickness)
    pectoral, muscle = _pectoral_muscle(rng, anatomy)
    anatomy.pectoral, anatomy.muscle = pectoral * mask, muscle * mask
    anatomy.envelope = _gland_envelope(rng, anatomy, tissue)
    return anatomy


# --------------------------------------------------------------------------------------------------------------
# Tissue texture
# --------------------------------------------------------------------------------------------------------------

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
        start = np.array([rng.uniform(0.05, 0.6) * size, anatomy.chest_col + rng.uniform(0.1, 0.4) * anatomy.depth.max()])
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


# --------------------------------------------------------------------------------------------------------------
# Lesions (drawn on the attenuation map in canonical orientation)
# --------------------------------------------------------------------------------------------------------------


@dataclass
class _Canvas:
    """What lesion renderers draw on: attenuation (before the film curve) and calcification specks (after).

    Attributes:
        att: (H, W) float32 attenuation (arbitrary units; fat ~0.6, dense gland ~1.6, film saturates ~3).
        speck_alpha: (H, W) float32 in [0, 1], weight of ``speck_level`` blended into the final grey level.
        speck_level: (H, W) float32 grey level (0-255) of calcifications.
        gland: (H, W) float32 glandular fraction, so lesions in dense tissue can be made denser.
        scale: ``size / 1024``.
    """

    att: np.ndarray
    speck_alpha: np.ndarray
    speck_level: np.ndarray
    gland: np.ndarray
    scale: float


def _local_density(canvas: _Canvas, row: int, col: int, radius: int) -> float:
    win = _window(canvas.gland.shape, row, col, radius)
    return float(canvas.gland[win.sl].mean())


def _render_circ(canvas: _Canvas, rng: np.random.Generator, row: int, col: int, radius: int) -> None:
    """Circumscribed mass: round/oval, homogeneous, bright, sharp margin; benign ones may show a fat halo."""
    win = _window(canvas.att.shape, row, col, radius + 6 * canvas.scale)
    ell, angle = win.ellipse(rng.uniform(0, np.pi), rng.uniform(0.7, 1.0))
    outline = radius * _irregular_radius(rng, angle, 0.05, 4) / 1.05
    rho = ell / outline
    inside = np.clip((1 - rho) * outline + 0.5, 0, 1)  # ~1 px anti-aliased margin
    dome = np.sqrt(np.clip(1 - rho * rho, 0, 1))
    texture = _power_law_noise(rng, win.r.shape, 3.0, longest=radius)
    amp = rng.uniform(0.35, 0.6) + 0.35 * _local_density(canvas, row, col, radius)
    body = inside * (0.5 + 0.5 * dome) * (0.9 + 0.1 * texture)
    if rng.random() < 0.4:  # halo sign: a thin lucent rim
        body -= 0.12 * np.exp(-0.5 * (((rho - 1) * outline - 2.0) / 1.2) ** 2)
    canvas.att[win.sl] += amp * ndi.gaussian_filter(body, 0.6 * canvas.scale)


def _render_spic(canvas: _Canvas, rng: np.random.Generator, row: int, col: int, radius: int) -> None:
    """Spiculated mass: dense irregular core with thin, tapering spicules radiating out to ``radius``."""
    win = _window(canvas.att.shape, row, col, radius + 4)
    core_r = radius * rng.uniform(0.35, 0.5)
    rho = win.r / (core_r * _irregular_radius(rng, win.theta, 0.3))
    texture = _power_law_noise(rng, win.r.shape, 3.0, longest=radius)
    core = expit((1 - rho) / 0.12) * (0.9 + 0.1 * texture)
    amp = rng.uniform(0.45, 0.7) + 0.3 * _local_density(canvas, row, col, radius)
    spicules = np.zeros_like(core)
    for angle in rng.uniform(-np.pi, np.pi, rng.integers(10, 25)):
        start = np.array([row, col]) + 0.8 * core_r * np.array([math.sin(angle), math.cos(angle)])
        length = radius * rng.uniform(0.6, 0.98) - 0.8 * core_r
        path = _wobbly_path(rng, start, angle, length, 4, 0.1)
        _draw_polyline(spicules, path - win.origin, rng.uniform(1.4, 2.6) * canvas.scale, 0.5, rng.uniform(0.4, 1.0))
    fade = np.clip(1.2 - win.r / radius, 0, 1)
    canvas.att[win.sl] += amp * (ndi.gaussian_filter(core, 1.0 * canvas.scale) + 0.6 * spicules * fade)


def _render_misc(canvas: _Canvas, rng: np.random.Generator, row: int, col: int, radius: int) -> None:
    """Ill-defined mass: irregular lobulated density whose margin fades out, no spicules."""
    win = _window(canvas.att.shape, row, col, 1.3 * radius)
    rho = win.r / (0.68 * radius * _irregular_radius(rng, win.theta, 0.35))
    texture = _power_law_noise(rng, win.r.shape, 3.0, longest=radius)
    body = expit((1 - rho - 0.08 * texture) / 0.16)
    body = ndi.gaussian_filter(body * (0.85 + 0.15 * texture), 0.06 * radius) * win.taper(radius, 1.3 * radius)
    amp = rng.uniform(0.4, 0.6) + 0.3 * _local_density(canvas, row, col, radius)
    canvas.att[win.sl] += amp * body


def _render_asym(canvas: _Canvas, rng: np.random.Generator, row: int, col: int, radius: int) -> None:
    """Asymmetry: broad, diffuse, textured density increase without a margin (like extra gland tissue)."""
    win = _window(canvas.att.shape, row, col, 1.3 * radius)
    ell, angle = win.ellipse(rng.uniform(0, np.pi), rng.uniform(0.5, 0.85))
    rho = ell / (0.6 * radius * _irregular_radius(rng, angle, 0.3))
    envelope = np.exp(-rho**2) * win.taper(radius, 1.3 * radius)
    texture = _power_law_noise(rng, win.r.shape, 3.0, longest=0.6 * radius)
    tissue = expit((ndi.gaussian_filter(texture, 0.04 * radius) + 0.3) / 0.5)
    amp = rng.uniform(0.5, 0.65)
    canvas.att[win.sl] += amp * envelope * (0.3 + 0.7 * tissue)


def _render_arch(canvas: _Canvas, rng: np.random.Generator, row: int, col: int, radius: int) -> None:
    """Architectural distortion: tissue pulled towards a point, with straight lines converging on it.

    A radial 'pinch' warp (``map_coordinates``) makes the centre sample a ring around it, which turns the
    surrounding texture into spokes; thin straight lines radiate from just outside the centre, and a faint
    central lucency keeps it from looking like a mass.
    """
    half = 1.5 * radius
    win = _window(canvas.att.shape, row, col, half)
    r = win.r + 1e-3
    pull = rng.uniform(0.3, 0.45) * radius * np.exp(-((r / (0.65 * radius)) ** 2)) * np.clip(1 - (r / half) ** 2, 0, 1)
    src_r = (r + pull) / r
    coords = np.stack([row + win.dy * src_r, col + win.dx * src_r])
    canvas.att[win.sl] = ndi.map_coordinates(canvas.att, coords, order=1, mode="nearest")
    lines = np.zeros_like(r)
    for angle in rng.uniform(-np.pi, np.pi, rng.integers(10, 22)):
        direction = np.array([math.sin(angle), math.cos(angle)])
        r_in, r_out = radius * rng.uniform(0.08, 0.25), radius * rng.uniform(0.6, 1.0)
        path = np.array([row, col]) + np.outer([r_in, r_out], direction)
        _draw_polyline(lines, path - win.origin, 0.6, rng.uniform(1.2, 2.0) * canvas.scale, rng.uniform(0.4, 1.0))
    fade = np.clip(1.15 - r / radius, 0, 1)
    amp = rng.uniform(0.2, 0.3)
    canvas.att[win.sl] += amp * lines * fade - 0.06 * np.exp(-((r / (0.18 * radius)) ** 2))


def _render_calc(canvas: _Canvas, rng: np.random.Generator, row: int, col: int, radius: int) -> None:
    """Calcification cluster: 5-30 tiny (1-3 px) very bright specks within ``radius``.

    Clusters are round to elongated (ductal); each speck is written as a grey level of 246-255 that replaces
    the film grey, so calcifications are the brightest structures of the image (labels stay below ~240).
    """
    n = int(rng.integers(5, 31))
    aspect = rng.uniform(0.35, 1.0)
    rot = rng.uniform(0, np.pi)
    pts = rng.normal(0, 0.45, (4 * n, 2)) * np.array([1.0, aspect])
    pts = pts[np.hypot(*pts.T) < 0.92][:n]
    c, s_ = math.cos(rot), math.sin(rot)
    offsets = pts @ np.array([[c, s_], [-s_, c]]) * (radius - 1.5)
    for dy, dx in np.rint(offsets):
        r_, c_ = int(row + dy), int(col + dx)
        win = _window(canvas.att.shape, r_, c_, 3)
        sigma = rng.uniform(0.45, 1.0) * max(canvas.scale, 0.5)
        blob = np.exp(-0.5 * (win.r / sigma) ** 2)
        np.maximum(canvas.speck_alpha[win.sl], blob, out=canvas.speck_alpha[win.sl])
        canvas.speck_level[win.sl] = np.maximum(canvas.speck_level[win.sl], rng.uniform(246, 255))
        canvas.att[win.sl] += 0.3 * blob


_LESION_RENDERERS: dict[str, Callable[[_Canvas, np.random.Generator, int, int, int], None]] = {
    "CIRC": _render_circ,
    "SPIC": _render_spic,
    "MISC": _render_misc,
    "ASYM": _render_asym,
    "ARCH": _render_arch,
    "CALC": _render_calc,
}


def _place_lesions(
    rng: np.random.Generator, anatomy: _Anatomy, radii: Sequence[int]
) -> list[tuple[int, int, int]]:
    """Centres (canonical row, col) for lesions of the given radii, inside the breast.

    A centre needs its whole circle (plus a margin, reduced step by step when nothing fits) inside the
    breast, clear of the skin line, the pectoral muscle, the image edges and earlier lesions; among the
    candidates, glandular-envelope positions are preferred. Returns ``(row, col, radius)`` triples; a radius
    is shrunk only if no position fits it at all.
    """
    s = anatomy.size / _REF_SIZE
    free = anatomy.mask & (anatomy.pectoral < 0.05)
    free[:, : anatomy.chest_col + 1] = False
    placed: list[tuple[int, int, int]] = []
    rows, cols = np.mgrid[0 : anatomy.size : 2, 0 : anatomy.size : 2]
    for radius in radii:
        room = ndi.distance_transform_edt(np.pad(free[::2, ::2], 1))[1:-1, 1:-1] * 2
        for margin in (40 * s, 20 * s, 8 * s, 0.0):
            ok = room >= radius + margin
            for pr, pc, prad in placed:
                ok &= np.hypot(rows - pr, cols - pc) >= radius + prad + 10 * s
            if ok.any():
                break
        if not ok.any():
            ok = room >= room.max() - 1
            radius = max(int(room.max()) - 2, 1)
        weights = (0.3 + anatomy.envelope[::2, ::2])[ok]
        pick = rng.choice(weights.size, p=weights / weights.sum())
        placed.append((int(rows[ok][pick]), int(cols[ok][pick]), int(radius)))
    return placed


# --------------------------------------------------------------------------------------------------------------
# Film: characteristic curve, background, label, artefacts
# --------------------------------------------------------------------------------------------------------------


def _film_exposure(rng: np.random.Generator, att: np.ndarray, anatomy: _Anatomy) -> np.ndarray:
    """Grey level (float32, 0-255) of the developed film: base fog + saturating characteristic curve + grain.

    ``grey = base + (white - base) * (1 - exp(-gain * att))``; film grain is mildly correlated Gaussian
    noise; the black padding outside the film (``chest_col``, ``film_end``) is exactly 0.
    """
    size, s = anatomy.size, anatomy.size / _REF_SIZE
    base = rng.uniform(2.0, 8.0)
    white = rng.uniform(228, 242)
    gain = rng.uniform(0.9, 1.1) * (1 + 0.04 * (np.arange(size, dtype=np.float32)[:, None] / size - 0.5))
    grey = base + (white - base) * (1 - np.exp(-gain * att))
    grain = ndi.gaussian_filter(rng.standard_normal((size, size), dtype=np.float32), 0.7 * s)
    grey += grain * (rng.uniform(1.2, 2.2) / max(float(grain.std()), 1e-6))
    return grey.astype(np.float32)


def _apply_padding(grey: np.ndarray, anatomy: _Anatomy) -> None:
    grey[:, : anatomy.chest_col] = 0
    grey[:, anatomy.film_end :] = 0


def _scanner_artifact(rng: np.random.Generator, grey: np.ndarray, anatomy: _Anatomy) -> None:
    """Sometimes (35 %) a digitiser/film-edge artefact: a bright top edge band, a scratch or an edge line."""
    if rng.random() >= 0.35:
        return
    size, s = anatomy.size, anatomy.size / _REF_SIZE
    kind = rng.integers(3)
    if kind == 0:  # unexposed film edge along the top
        grey[: max(int(rng.uniform(1, 6) * s), 1)] = rng.uniform(150, 200)
    elif kind == 1:  # thin horizontal scratch near the bottom
        r = int(rng.uniform(0.9, 0.98) * size)
        c0 = int(rng.uniform(0.2, 0.6) * size)
        grey[r, c0 : c0 + int(rng.uniform(0.2, 0.4) * size)] *= rng.uniform(0.3, 0.7)
    else:  # bright line along the far film edge
        c = max(anatomy.film_end - 1 - int(rng.uniform(0, 6) * s), 0)
        grey[:, c] = np.maximum(grey[:, c], rng.uniform(80, 160))


def _text_bitmap(text: str, scale: int) -> np.ndarray:
    """Bool (h, w) bitmap of ``text`` in PIL's built-in bitmap font, enlarged ``scale`` times (blocky)."""
    font = ImageFont.load_default_imagefont() if hasattr(ImageFont, "load_default_imagefont") else ImageFont.load_default()
    left, top, right, bottom = font.getbbox(text)
    img = Image.new("L", (right - left + 2, bottom - top + 2))
    ImageDraw.Draw(img).text((1 - left, 1 - top), text, fill=255, font=font)
    bitmap = np.asarray(img) > 127
    rows, cols = np.nonzero(bitmap)
    bitmap = bitmap[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    return np.kron(bitmap, np.ones((scale, scale), bool))


def _film_label(rng: np.random.Generator, side: str, scale: float) -> np.ndarray:
    """Grey (float32) patch of a burned-in film label: a white card with dark blocky ``side`` over ``ML``."""
    glyph = max(int(round(4 * scale)), 1)
    lines = [_text_bitmap(side, glyph), _text_bitmap("ML", glyph)]
    gap, pad = 3 * glyph, int(rng.uniform(2.5, 4.5) * glyph)
    height = sum(b.shape[0] for b in lines) + gap + 2 * pad
    width = max(b.shape[1] for b in lines) + 2 * pad
    patch = np.full((height, width), rng.uniform(218, 234), np.float32)
    patch += rng.normal(0, 1.5, patch.shape).astype(np.float32)
    ink = rng.uniform(20, 60)
    r = pad
    for bitmap in lines:
        c = (width - bitmap.shape[1]) // 2 if rng.random() < 0.5 else pad
        patch[r : r + bitmap.shape[0], c : c + bitmap.shape[1]][bitmap] = ink
        r += bitmap.shape[0] + gap
    if rng.random() < 0.25:  # film viewed from the back: mirrored label, as on some MIAS films
        patch = patch[:, ::-1]
    return ndi.gaussian_filter(patch, 0.6 * scale)


def _marker_text(rng: np.random.Generator, scale: float) -> np.ndarray:
    """Grey (float32) patch with faint light-grey numbers on transparent (0) background, e.g. ``2 7``."""
    text = f"{rng.integers(1, 10)} {rng.integers(1, 10)}"
    bitmap = _text_bitmap(text, max(int(round(3 * scale)), 1))
    return np.where(bitmap, rng.uniform(90, 170), 0).astype(np.float32)


def _stamp_background(rng: np.random.Generator, grey: np.ndarray, anatomy: _Anatomy, side: str, flipped: bool) -> None:
    """Burn the film label (and sometimes marker numbers) into the upper background, away from the breast.

    Positions are found in canonical coordinates (clear of the breast by 25 px, inside the film) and drawn
    into the final, possibly mirrored, image so the letters read correctly.
    """
    size, s = anatomy.size, anatomy.size / _REF_SIZE
    patches = [(_film_label(rng, side, s), False)]
    if rng.random() < 0.5:
        patches.append((_marker_text(rng, s), True))
    row = int(rng.uniform(8, 160) * s)
    for patch, transparent in patches:
        h, w = patch.shape
        if row + h > size:
            break
        reach = anatomy.chest_col + float(anatomy.depth[row : row + h].max()) + 25 * s
        lo, hi = int(reach), int(anatomy.film_end - w - 30 * s)
        if hi <= lo:
            break
        c0 = int(rng.uniform(lo + 0.3 * (hi - lo), hi))
        if flipped:
            c0 = size - c0 - w
        target = grey[row : row + h, c0 : c0 + w]
        target[...] = np.where(patch > 0, patch, target) if transparent else patch
        row += h + int(rng.uniform(10, 40) * s)


# --------------------------------------------------------------------------------------------------------------
# Public rendering API
# --------------------------------------------------------------------------------------------------------------


def _check_code_tissue(code: str, tissue: str) -> None:
    if code not in MIAS_CODES:
        raise ValueError(f"unknown MIAS code {code!r}; expected one of {sorted(MIAS_CODES)}")
    if tissue not in MIAS_TISSUES:
        raise ValueError(f"unknown MIAS tissue {tissue!r}; expected one of {sorted(MIAS_TISSUES)}")


def _lesion_radii(rng: np.random.Generator, code: str, num_lesions: int, scale: float) -> list[int]:
    lo, hi = LESION_RADIUS_RANGES[code]
    return [max(int(round(rng.uniform(lo, hi) * scale)), 2) for _ in range(num_lesions)]


def render_phantom_mammogram(
    refnum: int, code: str, tissue: str, seed: int = 0, size: int = 1024, num_lesions: int = 1
) -> tuple[np.ndarray, list[PhantomLesion]]:
    """Render one phantom MLO film mammogram.

    Args:
        refnum: MIAS reference number (``mdb{refnum:03d}``); even = left breast (chest wall on the left
            image edge), odd = right breast (chest wall on the right edge). Also keys the random streams.
        code: MIAS class code: CALC, CIRC, SPIC, MISC, ARCH, ASYM or NORM (no lesion).
        tissue: background tissue, ``F`` (fatty), ``G`` (fatty-glandular) or ``D`` (dense-glandular).
        seed: global seed; the image is a deterministic function of (seed, refnum, code, tissue, size,
            num_lesions), and its anatomy depends on (seed, refnum, tissue, size) only.
        size: image side in pixels (1024 = 200 micron pixels like MIAS; lengths scale with size / 1024).
        num_lesions: number of lesions of class ``code`` (ignored for NORM).

    Returns:
        ``(image, lesions)``: uint8 array (size, size), row 0 at the top, 0 = black; and one
        :class:`PhantomLesion` per lesion (empty for NORM) with centres in top-left pixel coordinates.
    """
    _check_code_tissue(code, tissue)
    if size < 64:
        raise ValueError(f"size must be at least 64 pixels, got {size}")
    if num_lesions < 0:
        raise ValueError(f"num_lesions must be >= 0, got {num_lesions}")
    s = size / _REF_SIZE
    anatomy = _build_anatomy(seed, refnum, tissue, size)
    att, gland = _normal_attenuation(derived_rng(seed, "phantom", refnum, "tissue", tissue), anatomy, tissue)
    canvas = _Canvas(att, np.zeros_like(att), np.zeros_like(att), gland, s)

    lesions: list[PhantomLesion] = []
    if code != "NORM" and num_lesions > 0:
        lrng = derived_rng(seed, "phantom", refnum, "lesions", code, num_lesions)
        severity = "M" if lrng.random() < _MALIGNANT_PROBABILITY[code] else "B"
        for row, col, radius in _place_lesions(lrng, anatomy, _lesion_radii(lrng, code, num_lesions, s)):
            _LESION_RENDERERS[code](canvas, lrng, row, col, radius)
            lesions.append(PhantomLesion(code, severity, row, col, radius))

    frng = derived_rng(seed, "phantom", refnum, "film")
    grey = _film_exposure(frng, canvas.att, anatomy)
    _scanner_artifact(frng, grey, anatomy)
    grey += canvas.speck_alpha * (canvas.speck_level - grey)
    _apply_padding(grey, anatomy)
    flipped = refnum % 2 == 1
    if flipped:
        grey = np.ascontiguousarray(grey[:, ::-1])
        lesions = [PhantomLesion(l.code, l.severity, l.row, size - 1 - l.col, l.radius) for l in lesions]
    _stamp_background(frng, grey, anatomy, "R" if flipped else "L", flipped)
    return np.clip(np.rint(grey), 0, 255).astype(np.uint8), lesions


# --------------------------------------------------------------------------------------------------------------
# Dataset folder: images, Info.txt, phantom.json
# --------------------------------------------------------------------------------------------------------------


def _normalise_weights(class_weights: Mapping[str, float] | None) -> dict[str, float]:
    weights = dict(DEFAULT_CLASS_WEIGHTS if class_weights is None else class_weights)
    unknown = set(weights) - set(MIAS_CODES)
    if unknown:
        raise ValueError(f"class_weights has unknown MIAS codes {sorted(unknown)}; known: {sorted(MIAS_CODES)}")
    if any(not math.isfinite(w) or w < 0 for w in weights.values()) or sum(weights.values()) <= 0:
        raise ValueError(f"class_weights must be finite, non-negative and not all zero, got {weights}")
    total = sum(weights.values())
    return {code: weights[code] / total for code in MIAS_CODES if weights.get(code, 0) > 0}


def _code_deck(weights: Mapping[str, float], block: int, rng: np.random.Generator) -> list[str]:
    """One shuffled deck of ``block`` codes with counts proportional to ``weights`` (largest remainder)."""
    codes = list(weights)
    quota = np.array([weights[c] * block for c in codes])
    counts = np.floor(quota).astype(int)
    remainder = quota - counts + rng.uniform(0, 1e-6, len(codes))  # seeded tie-break
    counts[np.argsort(-remainder)[: block - counts.sum()]] += 1
    deck = [c for c, n in zip(codes, counts) for _ in range(n)]
    rng.shuffle(deck)
    return deck


def _assign_codes(seed: int, num_images: int, weights: Mapping[str, float]) -> list[str]:
    """Class code of each image, dealt from consecutive seeded decks of ``_CODE_BLOCK`` images.

    Counts are balanced within every deck (not i.i.d.), and image ``k``'s code depends on ``k`` and the seed
    only, not on ``num_images``.
    """
    codes: list[str] = []
    for deck_index in range((num_images + _CODE_BLOCK - 1) // _CODE_BLOCK):
        codes += _code_deck(weights, _CODE_BLOCK, derived_rng(seed, "phantom-codes", deck_index))
    return codes[:num_images]


def format_info_row(name: str, tissue: str, lesion: PhantomLesion | None, size: int = 1024) -> str:
    """One ``Info.txt`` row in the exact MIAS format.

    ``format_info_row("mdb001", "G", PhantomLesion("CIRC", "B", 599, 535, 197))`` gives
    ``"mdb001 G CIRC B 535 425 197"`` (``x = col``, ``y = size - row``: bottom-left origin); a normal image
    (``lesion=None``) gives ``"mdb003 D NORM "`` with the trailing space of the real file.
    """
    if lesion is None:
        return f"{name} {tissue} NORM "
    return f"{name} {tissue} {lesion.code} {lesion.severity} {lesion.col} {size - lesion.row} {lesion.radius}"


def _info_header(seed: int, num_images: int, size: int) -> str:
    """Free-text header modelled on the real MIAS ``Info.txt`` (no line may start with ``mdb``)."""
    return f"""\
              MONAI-ROIGAN SYNTHETIC PHANTOM MAMMOGRAMS
              in the layout of the MIAS MiniMammographic Database



This folder was written by monai_roigan.data.phantom (phantom version
{PHANTOM_VERSION}, seed {seed}, {num_images} images). The images are SYNTHETIC
PHANTOMS drawn from random numbers: they are NOT patient data and NOT
the MIAS database. They only copy its layout, so that software can be
trained and tested without the real data: binary PGM (P5), 8-bit,
{size} pixels x {size} pixels, 200 micron pixel edge at 1024 pixels,
medio-lateral oblique views.

{_SEPARATOR}

INFORMATION:

This file lists the films in the phantom database and provides
appropriate details as follows:

1st column: database reference number (as in MIAS).

2nd column: Character of background tissue:
                F - Fatty
                G - Fatty-glandular
                D - Dense-glandular

3rd column: Class of abnormality present:
                CALC - Calcification
                CIRC - Well-defined/circumscribed masses
                SPIC - Spiculated masses
                MISC - Other, ill-defined masses
                ARCH - Architectural distortion
                ASYM - Asymmetry
                NORM - Normal

4th column: Severity of abnormality;
                B - Benign
                M - Malignant

5th,6th columns: x,y image-coordinates of centre of abnormality.

7th column: Approximate radius (in pixels) of a circle enclosing
            the abnormality.

NOTES
=====
1) The list is arranged in pairs of films: left (even filename
   numbers) and right (odd filename numbers) breasts. In this phantom
   the two films of a pair are independent draws.

2) The size of ALL the images is {size} pixels x {size} pixels.

3) When calcifications are present, centre locations and radii
   apply to clusters rather than individual calcifications.
   Coordinate system origin is the bottom-left corner.

4) Images with two abnormalities have two rows.

{_SEPARATOR}

"""


def _parameters(num_images: int, seed: int, weights: Mapping[str, float], size: int) -> dict:
    return {
        "generator": "monai_roigan.data.phantom",
        "phantom_version": PHANTOM_VERSION,
        "num_images": num_images,
        "seed": seed,
        "size": size,
        "class_weights": {code: round(w, 12) for code, w in weights.items()},
    }


def _image_meta(seed: int, refnum: int, code: str) -> tuple[str, int]:
    """Tissue class and number of lesions of image ``refnum`` (independent of the other images)."""
    rng = derived_rng(seed, "phantom", refnum, "meta")
    tissue = str(rng.choice(list(_TISSUE_PROBABILITY), p=list(_TISSUE_PROBABILITY.values())))
    second = rng.random() < _SECOND_LESION_PROBABILITY
    return tissue, 0 if code == "NORM" else 1 + int(second)


def make_phantom_dataset(
    root: str | PathLike,
    num_images: int = 60,
    seed: int = 0,
    class_weights: dict[str, float] | None = None,
    size: int = 1024,
    overwrite: bool = False,
) -> Path:
    """Write a phantom MIAS folder: ``root/mdb001.pgm`` ... ``root/Info.txt`` and ``root/phantom.json``.

    Args:
        root: output folder (created if needed).
        num_images: number of images, 1-999 (MIAS reference numbers have three digits).
        seed: global seed; image ``k`` is the same whatever ``num_images`` is.
        class_weights: relative share of each MIAS code (default :data:`DEFAULT_CLASS_WEIGHTS`); codes are
            dealt from seeded shuffled decks of 20 images, so counts are balanced rather than i.i.d.
        size: image side in pixels (1024 for MIAS).
        overwrite: rewrite a folder that already has an ``Info.txt``.

    Returns:
        ``root`` as a :class:`~pathlib.Path`.

    Raises:
        FileExistsError: ``root/Info.txt`` exists, ``overwrite`` is False and ``root/phantom.json`` does not
            record the same parameters (a folder made with the same parameters is returned as is: a cache).
        ValueError: bad ``num_images``, ``size`` or ``class_weights``.
    """
    if not 1 <= num_images <= _MAX_IMAGES:
        raise ValueError(f"num_images must be between 1 and {_MAX_IMAGES}, got {num_images}")
    root = Path(root)
    weights = _normalise_weights(class_weights)
    params = _parameters(num_images, seed, weights, size)
    info_path, params_path = root / "Info.txt", root / "phantom.json"
    previous = _read_parameters(params_path)
    if info_path.exists() and not overwrite:
        if previous == params:
            return root
        why = (
            "has no phantom.json, so it is not a phantom folder (real MIAS data?)"
            if previous is None
            else f"was made with other parameters ({json.dumps(previous, sort_keys=True)}, requested "
            f"{json.dumps(params, sort_keys=True)})"
        )
        raise FileExistsError(f"{info_path} already exists and {why}; choose another folder or pass overwrite=True")
    root.mkdir(parents=True, exist_ok=True)
    if previous is not None:  # our own earlier phantom: drop images the new table will not list
        for stale in root.glob("mdb*.pgm"):
            if re.fullmatch(r"mdb\d{3}\.pgm", stale.name) and int(stale.name[3:6]) > num_images:
                stale.unlink()
    params_path.unlink(missing_ok=True)
    rows = []
    for k, code in enumerate(_assign_codes(seed, num_images, weights)):
        refnum = k + 1
        name = f"mdb{refnum:03d}"
        tissue, num_lesions = _image_meta(seed, refnum, code)
        image, lesions = render_phantom_mammogram(refnum, code, tissue, seed, size, num_lesions)
        write_pgm(root / f"{name}.pgm", image)
        rows += [format_info_row(name, tissue, lesion, size) for lesion in lesions] or [
            format_info_row(name, tissue, None, size)
        ]
    info_path.write_text(_info_header(seed, num_images, size) + "\n".join(rows) + f"\n\n{_SEPARATOR}\n")
    params_path.write_text(json.dumps(params, indent=2, sort_keys=True) + "\n")
    return root


def _read_parameters(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


# --------------------------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """``roigan-phantom OUTPUT_DIR --num_images N --seed S``: write a phantom folder."""
    parser = argparse.ArgumentParser(
        prog="roigan-phantom",
        description="Write synthetic phantom MLO mammograms in the MIAS layout (mdbNNN.pgm + Info.txt).",
    )
    parser.add_argument("output_dir", help="folder to write (created if needed)")
    parser.add_argument("--num_images", "--num-images", type=int, default=60, help="number of images (1-999, default 60)")
    parser.add_argument("--seed", type=int, default=0, help="global seed (default 0)")
    parser.add_argument("--size", type=int, default=1024, help="image side in pixels (default 1024, as MIAS)")
    parser.add_argument("--overwrite", action="store_true", help="rewrite a folder that already has an Info.txt")
    args = parser.parse_args(argv)
    try:
        root = make_phantom_dataset(args.output_dir, args.num_images, args.seed, size=args.size, overwrite=args.overwrite)
    except (FileExistsError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    rows = [line.split() for line in (root / "Info.txt").read_text().splitlines() if line.startswith("mdb")]
    row_counts = Counter(tokens[2] for tokens in rows)
    image_counts = Counter(code for _, code in {(tokens[0], tokens[2]) for tokens in rows})
    print(f"{len({tokens[0] for tokens in rows})} phantom images in {root}")
    for code in MIAS_CODES:
        print(f"  {code}: {image_counts.get(code, 0)} images, {row_counts.get(code, 0)} Info.txt rows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
