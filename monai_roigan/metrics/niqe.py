"""Domain NIQE: the natural-image quality evaluator of Mittal et al. (2013), fitted on real mammogram ROIs.

NIQE measures how far an image's local statistics are from a "pristine" model. The published model was
fitted on photographs of natural scenes; for ROIs that reference is wrong (and downloading it is not
allowed here), so :func:`fit_niqe_model` fits the pristine model on the **real training ROIs**. The result
is a *domain NIQE*: 0 would mean statistics exactly like the real ROIs', and larger is further away. It is
not comparable with NIQE values computed with the published model.

Written from the paper:

1. Intensities in [-1, 1] are mapped to 0..255. Mean-subtracted contrast-normalised (MSCN) coefficients
   are ``(I - mu) / (sigma + 1)``, with ``mu`` and ``sigma`` the local mean and standard deviation under a
   7x7 Gaussian window (sigma 7/6).
2. On each patch (``patch_size``, default 32 px because ROIs are 64 px; the paper uses 96 on photographs),
   18 features come from the MSCN coefficients. Two are the shape and variance of a generalised Gaussian
   fit. Sixteen are, for each of the horizontal, vertical and two diagonal neighbour products, an
   asymmetric generalised Gaussian fit: shape, mean, left and right variance.
3. The same 18 come from the image downsampled by 2, giving 36 per patch.
4. The pristine model is the mean and covariance of the features of the sharpest real patches, those whose
   mean local sigma reaches 75% of the sharpest patch's. An image's NIQE is
   ``sqrt((nu1 - nu2)^T ((S1 + S2) / 2)^+ (nu1 - nu2))``. Here ``nu2`` and ``S2`` are the mean and covariance
   of the image's own patch features, and ``+`` is the pseudo-inverse.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter, zoom
from scipy.special import gamma as gamma_fn

__all__ = ["NIQEModel", "fit_niqe_model", "niqe", "fit_ggd", "fit_aggd", "patch_features"]

_SHAPES = np.arange(0.2, 10.0, 0.001)
_GGD_RATIO = gamma_fn(1 / _SHAPES) * gamma_fn(3 / _SHAPES) / gamma_fn(2 / _SHAPES) ** 2
_AGGD_RATIO = gamma_fn(2 / _SHAPES) ** 2 / (gamma_fn(1 / _SHAPES) * gamma_fn(3 / _SHAPES))
_NEIGHBOURS = ((0, 1), (1, 0), (1, 1), (1, -1))
_SIGMA = 7 / 6
_TRUNCATE = 3 / _SIGMA  # radius 3: the paper's 7x7 window


@dataclass
class NIQEModel:
    """A pristine model: mean (36,) and covariance (36, 36) of real-ROI patch features, and its patch size."""

    mean: np.ndarray
    cov: np.ndarray
    patch_size: int


def fit_ggd(x: np.ndarray) -> tuple[float, float]:
    """(shape alpha, variance) of a zero-mean generalised Gaussian fitted by moment matching."""
    x = np.ravel(x)
    variance = float(np.mean(x**2))
    rho = variance / max(float(np.mean(np.abs(x))) ** 2, 1e-12)
    return float(_SHAPES[np.argmin(np.abs(_GGD_RATIO - rho))]), variance


def fit_aggd(x: np.ndarray) -> tuple[float, float, float, float]:
    """(shape, mean, left variance, right variance) of an asymmetric generalised Gaussian (moment matching)."""
    x = np.ravel(x)
    left, right = x[x < 0], x[x >= 0]
    sigma_l = np.sqrt(np.mean(left**2)) if len(left) else 1e-6
    sigma_r = np.sqrt(np.mean(right**2)) if len(right) else 1e-6
    g = sigma_l / max(sigma_r, 1e-12)
    r = float(np.mean(np.abs(x))) ** 2 / max(float(np.mean(x**2)), 1e-12)
    big_r = r * (g**3 + 1) * (g + 1) / (g**2 + 1) ** 2
    shape = float(_SHAPES[np.argmin(np.abs(_AGGD_RATIO - big_r))])
    scale = gamma_fn(1 / shape) / gamma_fn(3 / shape)
    mean = (sigma_r - sigma_l) * np.sqrt(scale) * gamma_fn(2 / shape) / gamma_fn(1 / shape)
    return shape, float(mean), float(sigma_l**2), float(sigma_r**2)


def _mscn(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mu = gaussian_filter(image, _SIGMA, truncate=_TRUNCATE)
    sigma = np.sqrt(np.abs(gaussian_filter(image * image, _SIGMA, truncate=_TRUNCATE) - mu * mu))
    return (image - mu) / (sigma + 1.0), sigma


def _features_18(mscn: np.ndarray) -> list[float]:
    out = list(fit_ggd(mscn))
    for dy, dx in _NEIGHBOURS:
        shifted = np.roll(mscn, (-dy, -dx), axis=(0, 1))[: mscn.shape[0] - 1, 1 : mscn.shape[1] - 1]
        out += fit_aggd(mscn[: mscn.shape[0] - 1, 1 : mscn.shape[1] - 1] * shifted)
    return out


def patch_features(image: np.ndarray, patch_size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """(features (P, 36), sharpness (P,)) of the non-overlapping patches of one (H, W) image in [-1, 1]."""
    full = (np.clip(np.asarray(image, dtype=np.float64), -1, 1) + 1.0) * 127.5
    scales = [_mscn(full), _mscn(zoom(full, 0.5, order=1))]
    features, sharpness = [], []
    for top in range(0, full.shape[0] - patch_size + 1, patch_size):
        for left in range(0, full.shape[1] - patch_size + 1, patch_size):
            row = []
            for k, (mscn, _sigma) in enumerate(scales):
                size = patch_size >> k
                row += _features_18(mscn[top >> k : (top >> k) + size, left >> k : (left >> k) + size])
            features.append(row)
            sharpness.append(float(scales[0][1][top : top + patch_size, left : left + patch_size].mean()))
    return np.asarray(features), np.asarray(sharpness)


def _squeeze(images) -> np.ndarray:
    array = np.asarray(images, dtype=np.float64)
    return array[:, 0] if array.ndim == 4 else array


def fit_niqe_model(real_images, patch_size: int = 32, sharpness_fraction: float = 0.75) -> NIQEModel:
    """The pristine model from real ROIs (N, 1, H, W) in [-1, 1] (see the module docstring)."""
    pairs = [patch_features(image, patch_size) for image in _squeeze(real_images)]
    features = np.concatenate([f for f, _ in pairs])
    sharpness = np.concatenate([s for _, s in pairs])
    kept = features[sharpness >= sharpness_fraction * sharpness.max()]
    if len(kept) < 2:
        raise ValueError(f"only {len(kept)} sharp patch(es) to fit a NIQE model; give more real ROIs")
    return NIQEModel(kept.mean(0), np.cov(kept, rowvar=False), patch_size)


def niqe(images, model: NIQEModel) -> np.ndarray:
    """Domain NIQE of each image (N, 1, H, W) in [-1, 1] against ``model`` (lower: closer to the real ROIs)."""
    scores = []
    for image in _squeeze(images):
        features, _ = patch_features(image, model.patch_size)
        cov = np.cov(features, rowvar=False) if len(features) > 1 else np.zeros_like(model.cov)
        diff = model.mean - features.mean(0)
        scores.append(float(np.sqrt(max(diff @ np.linalg.pinv((model.cov + cov) / 2.0) @ diff, 0.0))))
    return np.asarray(scores)
