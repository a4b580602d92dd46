"""Random fields and drawing primitives of the phantom: 1/f noise, level-set lines, tapered polylines and
windows around a centre."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


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
