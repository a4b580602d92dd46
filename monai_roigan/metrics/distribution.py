"""Set-level distances between real and synthetic ROIs in a feature space: FID, KID, precision and recall.

The features come from an encoder (see :func:`domain_features`). These numbers compare *sets*: a per-image
"FID" like the paper's (2.6e5 to 1.6e6 per image) is not defined, since a covariance needs many images.
Numbers from different encoders are not comparable, and none of these are comparable to ImageNet-Inception
FIDs.

- :func:`frechet_distance` (FID; Heusel et al. 2017): ``|mu1 - mu2|^2 + Tr(S1) + Tr(S2) - 2 Tr((S1 S2)^1/2)``
  of the two Gaussian fits, computed by MONAI's :class:`~monai.metrics.FIDMetric` (float64, ``scipy.linalg.sqrtm``)
  on our features. 0 for identical sets (to rounding).
- :func:`kernel_distance` (KID; Binkowski et al. 2018): the unbiased MMD^2 estimate with the cubic
  polynomial kernel ``(x.y / d + 1)^3``, averaged over random subsets. Its mean is unbiased, so it can be
  slightly negative for sets from one distribution.
- :func:`precision_recall` (Kynkaanniemi et al. 2019): a sample is on a set's manifold if it lies within the
  k-th-nearest-neighbour radius of one of the set's samples. Precision is the share of synthetic samples
  on the real manifold (fidelity); recall is the share of real samples on the synthetic manifold (coverage).
  Both are 1 for identical sets.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from monai.metrics import FIDMetric
from scipy.spatial.distance import cdist
from torch import nn

__all__ = ["frechet_distance", "kernel_distance", "precision_recall", "domain_features"]


def _as_features(x, min_dim: int = 1) -> np.ndarray:
    array = np.asarray(x, dtype=np.float64)
    if array.ndim != 2 or len(array) < 2 or array.shape[1] < min_dim:
        raise ValueError(f"expected features of shape (N >= 2, D >= {min_dim}), got {array.shape}")
    return array


def frechet_distance(real, fake) -> float:
    """FID between two feature sets (N, D) and (M, D), D >= 2, by MONAI's ``FIDMetric`` (see the module docstring)."""
    real, fake = _as_features(real, min_dim=2), _as_features(fake, min_dim=2)
    with warnings.catch_warnings():  # MONAI passes SciPy's deprecated `disp` to sqrtm; not ours to fix
        warnings.filterwarnings("ignore", message="The `disp` argument is deprecated", category=DeprecationWarning)
        return float(FIDMetric()(torch.from_numpy(fake), torch.from_numpy(real)))


def _unbiased_mmd2(x: np.ndarray, y: np.ndarray) -> float:
    d = x.shape[1]
    kxx, kyy, kxy = ((a @ b.T / d + 1.0) ** 3 for a, b in ((x, x), (y, y), (x, y)))
    m, n = len(x), len(y)
    return float(
        (kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (n * (n - 1)) - 2.0 * kxy.mean()
    )


def kernel_distance(real, fake, subsets: int = 50, subset_size: int = 100, seed: int = 0) -> tuple[float, float]:
    """KID as (mean, standard deviation) over ``subsets`` random subsets of ``min(subset_size, N, M)`` each."""
    real, fake = _as_features(real), _as_features(fake)
    size = min(subset_size, len(real), len(fake))
    rng = np.random.default_rng(seed)
    values = [
        _unbiased_mmd2(
            real[rng.choice(len(real), size, replace=False)], fake[rng.choice(len(fake), size, replace=False)]
        )
        for _ in range(subsets)
    ]
    return float(np.mean(values)), float(np.std(values))


def _knn_radii(points: np.ndarray, k: int) -> np.ndarray:
    return np.sort(cdist(points, points), axis=1)[:, min(k, len(points) - 1)]  # column 0 is the point itself


def _coverage(points: np.ndarray, manifold: np.ndarray, radii: np.ndarray) -> float:
    return float((cdist(points, manifold) <= radii[None, :] + 1e-9).any(axis=1).mean())


def precision_recall(real, fake, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (see the module docstring) with ``k``-nearest-neighbour radii."""
    real, fake = _as_features(real), _as_features(fake)
    return _coverage(fake, real, _knn_radii(real, k)), _coverage(real, fake, _knn_radii(fake, k))


@torch.no_grad()
def domain_features(classifier: nn.Sequential, images, batch_size: int = 256) -> np.ndarray:
    """(N, C) features of ROIs (N, 1, S, S) in [-1, 1]: a :class:`~monai_roigan.networks.nets.ROIClassifier`'s
    convolution blocks (all layers before its ``Flatten``), averaged over space.

    The classifier is the *domain encoder*: trained on the real training ROIs (no downloaded weights), its
    features describe what separates mammogram ROI classes, not ImageNet objects.
    """
    layers = list(classifier.children())
    blocks = nn.Sequential(*layers[: [isinstance(m, nn.Flatten) for m in layers].index(True)])
    device, was_training = next(classifier.parameters()).device, classifier.training
    images = torch.as_tensor(np.asarray(images), dtype=torch.float32)
    classifier.eval()  # the blocks are the classifier's own modules: restore its mode afterwards
    try:
        out = [blocks(chunk.to(device)).mean(dim=(2, 3)).cpu() for chunk in images.split(batch_size)]
    finally:
        classifier.train(was_training)
    return torch.cat(out).double().numpy()
