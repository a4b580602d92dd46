"""Reference-based image quality of synthetic ROIs: MSE, PSNR, SSIM, DSSIM and FSIM against a chosen real ROI.

A synthetic ROI has no paired original, so "reference-based" needs a stated reference. Two are offered:

- ``pairing="nearest"``: the real ROI of the same class closest in mean squared error. This measures how
  close the generator comes to *some* real ROI. Read it together with the memorization check
  (:mod:`monai_roigan.metrics.memorization`): a perfect score can mean a copy.
- ``pairing="random"``: a random real ROI of the same class (seeded), which is what per-image tables like
  the paper's Tables 6-9 amount to. It measures little beyond the texture statistics the two share.

All images are (N, 1, H, W) or (N, H, W) arrays in [-1, 1]. They are mapped to [0, 1] before measuring, so
``data_range`` is 1. The values are computed by scikit-image (``peak_signal_noise_ratio``,
``structural_similarity`` with its Gaussian-weighted variant off, 7x7 windows) and NumPy:

- ``mse``: the mean of (a - b)^2 in [0, 1] units;
- ``psnr``: 10 log10(1 / mse) in dB, ``inf`` for identical images;
- ``ssim``: in [-1, 1], 1 for identical images;
- ``dssim``: (1 - ssim) / 2, in [0, 1], 0 for identical images;
- ``fsim``: the feature similarity index (:mod:`monai_roigan.metrics.fsim`), in (0, 1], 1 for identical images.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.spatial.distance import cdist
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from monai_roigan.metrics.fsim import fsim
from monai_roigan.metrics.image_stack import gray_stack

__all__ = ["REFERENCE_METRICS", "pair_metrics", "nearest_indices", "reference_metrics"]

REFERENCE_METRICS = ("mse", "psnr", "ssim", "dssim", "fsim")


def _unit(images) -> np.ndarray:
    """(N, H, W) float64 in [0, 1] from (N, 1, H, W) or (N, H, W) in [-1, 1]."""
    return np.clip((gray_stack(images) + 1.0) / 2.0, 0.0, 1.0)


def pair_metrics(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """MSE, PSNR (dB), SSIM, DSSIM and FSIM of two (H, W) images in [0, 1] (see the module docstring)."""
    mse = float(np.mean((a - b) ** 2))
    psnr = float("inf") if mse == 0 else float(peak_signal_noise_ratio(a, b, data_range=1.0))
    ssim = float(structural_similarity(a, b, data_range=1.0))
    return {"mse": mse, "psnr": psnr, "ssim": ssim, "dssim": (1.0 - ssim) / 2.0, "fsim": fsim(a, b)}


def nearest_indices(queries: np.ndarray, references: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each query (N, H, W) the index of the reference (M, H, W) with the least MSE, and that MSE."""
    q, r = queries.reshape(len(queries), -1), references.reshape(len(references), -1)
    mse = cdist(q, r, "sqeuclidean") / q.shape[1]
    best = mse.argmin(1)
    return best, mse[np.arange(len(q)), best]


def reference_metrics(
    synthetic,
    synthetic_labels: Sequence[int],
    real,
    real_labels: Sequence[int],
    pairing: str = "nearest",
    seed: int = 0,
) -> list[dict]:
    """One row per synthetic ROI: its ``label``, the ``reference`` index into ``real``, and :data:`REFERENCE_METRICS`.

    Args:
        synthetic, real: (N, 1, H, W) images in [-1, 1].
        synthetic_labels, real_labels: class index per image; references are drawn from the same class.
        pairing: ``"nearest"`` (least MSE) or ``"random"`` (seeded), see the module docstring.
        seed: seed of the random pairing.

    Raises:
        ValueError: an unknown pairing, or a synthetic class with no real ROI.
    """
    if pairing not in ("nearest", "random"):
        raise ValueError(f"pairing must be 'nearest' or 'random', got {pairing!r}")
    fake, reference = _unit(synthetic), _unit(real)
    fake_labels, ref_labels = np.asarray(synthetic_labels), np.asarray(real_labels)
    rng = np.random.default_rng(seed)
    rows = []
    for label in np.unique(fake_labels):
        members, candidates = np.flatnonzero(fake_labels == label), np.flatnonzero(ref_labels == label)
        if len(candidates) == 0:
            raise ValueError(f"no real ROI of class {int(label)} to compare synthetic ROIs with")
        if pairing == "nearest":
            chosen = candidates[nearest_indices(fake[members], reference[candidates])[0]]
        else:
            chosen = rng.choice(candidates, len(members))
        for i, j in zip(members, chosen):
            rows.append(
                {"index": int(i), "label": int(label), "reference": int(j), **pair_metrics(fake[i], reference[j])}
            )
    return sorted(rows, key=lambda r: r["index"])
