"""Fingerprints of generated ROIs that a classifier can learn instead of the lesion: spectra and intensity profiles.

Both compare a set of candidate ROIs with a set of real ROIs, (N, 1, S, S) or (N, S, S) in [-1, 1]:

- :func:`spectral_ratios`: the candidates' mean power spectrum over the real ROIs' at the frequencies of the
  up-sampling grid. A layer that doubles the side can leave energy at S/2 cycles per ROI (the Nyquist frequency:
  a checkerboard of period 2 pixels); two doublings also at S/4, and so on. Frequencies are in cycles per ROI,
  folded into ``0..S/2`` on each axis (the four sign combinations of a frequency averaged). A ratio of 1 is real
  tissue; a checkerboard gives hundreds or thousands.
- :func:`border_profile`: mean intensity at each distance (in pixels, Chebyshev) from the ROI's edge inward:
  a dark or bright frame shows in the first values. :func:`radial_profile`: mean intensity at each distance from
  the ROI's centre outward: the rim of a pasted or in-filled disc shows as a step.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from monai_roigan.metrics.image_stack import gray_stack
from monai_roigan.utils.spectrum import folded_power_spectrum

__all__ = ["border_profile", "mean_power_spectrum", "radial_profile", "spectral_ratios", "upsampling_frequencies"]


def mean_power_spectrum(images) -> np.ndarray:
    """(S/2 + 1, S/2 + 1) mean power ``|FFT|^2 / S^2`` of the ROIs, each with its mean removed, folded into the
    non-negative frequencies (row: vertical, column: horizontal frequency in cycles per ROI), in float64
    (:func:`~monai_roigan.utils.spectrum.folded_power_spectrum`)."""
    stack = torch.from_numpy(gray_stack(images).astype(np.float64))
    return folded_power_spectrum(stack).numpy()


def upsampling_frequencies(size: int, factors: Sequence[int] = (2, 4)) -> list[tuple[int, int]]:
    """The folded frequencies (fy, fx) of the up-sampling grid of ``factors``: every pair of multiples of
    ``size / f`` in ``0..size/2`` for each factor f, except (0, 0); sorted."""
    found = set()
    for factor in factors:
        if size % factor:
            raise ValueError(f"an up-sampling factor must divide the ROI side {size}, got {factor}")
        steps = range(0, size // 2 + 1, size // factor)
        found |= {(fy, fx) for fy in steps for fx in steps if (fy, fx) != (0, 0)}
    return sorted(found)


def spectral_ratios(candidate, real, factors: Sequence[int] = (2, 4)) -> dict[tuple[int, int], float]:
    """``{(fy, fx): candidate power / real power}`` at :func:`upsampling_frequencies` of the ROIs' side.

    Raises:
        ValueError: sets of different ROI sizes, or an empty set.
    """
    candidate, real = gray_stack(candidate), gray_stack(real)
    if not len(candidate) or not len(real) or candidate.shape[1:] != real.shape[1:]:
        raise ValueError(f"need two non-empty sets of equal ROI size, got {candidate.shape} and {real.shape}")
    ratio = mean_power_spectrum(candidate) / np.maximum(mean_power_spectrum(real), 1e-20)
    return {f: float(ratio[f]) for f in upsampling_frequencies(real.shape[-1], factors)}


def _profile(images, distance: np.ndarray) -> np.ndarray:
    """Mean intensity of the ROIs at each integer value of ``distance`` (S, S), 0 up to S/2 - 1."""
    mean_image = gray_stack(images).astype(np.float64).mean(axis=0)
    depth = mean_image.shape[-1] // 2
    keep = distance < depth
    sums = np.bincount(distance[keep], weights=mean_image[keep], minlength=depth)
    return sums / np.maximum(np.bincount(distance[keep], minlength=depth), 1)


def border_profile(images) -> np.ndarray:
    """(S/2,) mean intensity of the ROIs at 0, 1, ... S/2 - 1 pixels from the nearest edge (0: the outer ring)."""
    size = gray_stack(images).shape[-1]
    index = np.arange(size)
    edge = np.minimum(index, size - 1 - index)
    return _profile(images, np.minimum.outer(edge, edge))


def radial_profile(images) -> np.ndarray:
    """(S/2,) mean intensity of the ROIs in rings of 1 pixel around the centre (0: the centre, up to S/2 - 1)."""
    size = gray_stack(images).shape[-1]
    offset = np.arange(size) - (size - 1) / 2
    return _profile(images, np.floor(np.hypot.outer(offset, offset)).astype(int))
