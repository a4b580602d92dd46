"""Lesions of the phantom (CIRC, SPIC, MISC, ASYM, ARCH, CALC), drawn on the attenuation map in canonical
orientation, and their placement inside the breast."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi
from scipy.special import expit

from monai_roigan.data.phantom.anatomy import _Anatomy
from monai_roigan.data.phantom.common import _REF_SIZE
from monai_roigan.data.phantom.primitives import (
    _draw_polyline,
    _irregular_radius,
    _power_law_noise,
    _window,
    _wobbly_path,
)


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
    envelope = np.exp(-(rho**2)) * win.taper(radius, 1.3 * radius)
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


def _place_lesions(rng: np.random.Generator, anatomy: _Anatomy, radii: Sequence[int]) -> list[tuple[int, int, int]]:
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
