"""FSIM, the feature similarity index (Zhang et al. 2011), written from the paper.

FSIM weighs two similarity maps by where the image has structure:

- phase congruency ``PC`` (Kovesi 1999), computed with log-Gabor filters: 4 scales (shortest wavelength 6
  px, factor 2 between scales, bandwidth sigma_onf 0.55) and 4 orientations (angular spread ratio 1.2).
  Noise is compensated with k = 2 from the smallest scale's Rayleigh-distributed amplitude;
- gradient magnitude ``G`` from the 3x3 Scharr operator.

With ``S_PC = (2 PC1 PC2 + T1) / (PC1^2 + PC2^2 + T1)`` and ``S_G = (2 G1 G2 + T2) / (G1^2 + G2^2 + T2)``
(T1 = 0.85, T2 = 160 for 0..255 intensities), ``FSIM = sum(S_PC S_G PC_m) / sum(PC_m)`` with
``PC_m = max(PC1, PC2)``. It lies in (0, 1] and is 1 for identical images. The paper downsamples images
larger than 256 px first; ROIs are smaller, so nothing is downsampled.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import convolve

__all__ = ["phase_congruency", "fsim"]

_SCHARR = np.array([[3.0, 0.0, -3.0], [10.0, 0.0, -10.0], [3.0, 0.0, -3.0]]) / 16.0
_SCALES = 4
_ORIENTATIONS = 4
_MIN_WAVELENGTH = 6.0
_MULT = 2.0
_SIGMA_ONF = 0.55
_D_THETA = 1.2
_K = 2.0
_EPS = 1e-4


def _frequency_grid(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    rows, cols = shape
    y, x = np.meshgrid(np.fft.fftfreq(rows), np.fft.fftfreq(cols), indexing="ij")
    radius = np.sqrt(x**2 + y**2)
    radius[0, 0] = 1.0
    return radius, np.arctan2(-y, x)


def _log_gabors(radius: np.ndarray) -> list[np.ndarray]:
    low_pass = 1.0 / (1.0 + (radius / 0.45) ** 30)
    filters = []
    for scale in range(_SCALES):
        centre = 1.0 / (_MIN_WAVELENGTH * _MULT**scale)
        log_gabor = np.exp(-(np.log(radius / centre) ** 2) / (2 * np.log(_SIGMA_ONF) ** 2)) * low_pass
        log_gabor[0, 0] = 0.0
        filters.append(log_gabor)
    return filters


def _spread(theta: np.ndarray, orientation: int) -> np.ndarray:
    angle = orientation * np.pi / _ORIENTATIONS
    d_theta = np.abs(np.arctan2(np.sin(theta - angle), np.cos(theta - angle)))
    return np.exp(-(d_theta**2) / (2 * (np.pi / _ORIENTATIONS / _D_THETA) ** 2))


def _orientation_energy(spectrum, gabors, spread) -> tuple[np.ndarray, np.ndarray]:
    """(noise-compensated phase energy, summed amplitude) of one orientation."""
    responses = [np.fft.ifft2(spectrum * g * spread) for g in gabors]
    sum_even, sum_odd = sum(r.real for r in responses), sum(r.imag for r in responses)
    amplitude = sum(np.abs(r) for r in responses)
    norm = np.sqrt(sum_even**2 + sum_odd**2) + _EPS
    mean_even, mean_odd = sum_even / norm, sum_odd / norm
    energy = sum(
        r.real * mean_even + r.imag * mean_odd - np.abs(r.real * mean_odd - r.imag * mean_even) for r in responses
    )
    tau = np.median(np.abs(responses[0])) / np.sqrt(np.log(4.0))  # Rayleigh mode of the smallest scale
    total_tau = tau * (1 - (1 / _MULT) ** _SCALES) / (1 - 1 / _MULT)
    threshold = total_tau * np.sqrt(np.pi / 2) + _K * total_tau * np.sqrt((4 - np.pi) / 2)
    return np.maximum(energy - threshold, 0.0), amplitude


def phase_congruency(image: np.ndarray) -> np.ndarray:
    """Phase congruency (H, W) in [0, 1] of a (H, W) image (any intensity scale)."""
    image = np.asarray(image, dtype=np.float64)
    radius, theta = _frequency_grid(image.shape)
    gabors, spectrum = _log_gabors(radius), np.fft.fft2(image)
    energy, amplitude = np.zeros_like(image), np.zeros_like(image)
    for orientation in range(_ORIENTATIONS):
        e, a = _orientation_energy(spectrum, gabors, _spread(theta, orientation))
        energy += e
        amplitude += a
    return energy / (amplitude + _EPS)


def _gradient(image: np.ndarray) -> np.ndarray:
    return np.hypot(convolve(image, _SCHARR, mode="nearest"), convolve(image, _SCHARR.T, mode="nearest"))


def fsim(a: np.ndarray, b: np.ndarray) -> float:
    """FSIM of two (H, W) images in [0, 1] (mapped to 0..255 internally, as in the paper)."""
    a, b = np.asarray(a, dtype=np.float64) * 255.0, np.asarray(b, dtype=np.float64) * 255.0
    pc_a, pc_b = phase_congruency(a), phase_congruency(b)
    g_a, g_b = _gradient(a), _gradient(b)
    s_pc = (2 * pc_a * pc_b + 0.85) / (pc_a**2 + pc_b**2 + 0.85)
    s_g = (2 * g_a * g_b + 160.0) / (g_a**2 + g_b**2 + 160.0)
    weight = np.maximum(pc_a, pc_b)
    return float((s_pc * s_g * weight).sum() / max(weight.sum(), 1e-12))
