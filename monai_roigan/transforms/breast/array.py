"""Breast-region segmentation of a mammogram and sampling of normal-tissue ROI centres.

The breast is the largest connected bright region after a conservative threshold (half of Otsu's on a
smoothed, 4x-downsampled image) and a small opening. Holes are not filled: a dark film strip enclosed by a bright film
edge must stay outside. Film labels, markers and scanner strips are separate
components and are therefore excluded. This is a coarse mask for choosing where normal-tissue ROIs may be
cut, not a segmentation for measurement.
"""

from __future__ import annotations

import numpy as np
import torch
from monai.config import NdarrayOrTensor
from monai.transforms import Transform
from monai.utils import convert_to_dst_type, convert_to_numpy
from scipy import ndimage as ndi
from skimage.filters import threshold_otsu
from skimage.transform import downscale_local_mean

__all__ = ["breast_mask", "sample_normal_centers", "BreastMask"]


def _largest_component(mask: np.ndarray) -> np.ndarray:
    labels, count = ndi.label(mask)
    if count == 0:
        return mask
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    return labels == int(np.argmax(sizes))


def _coarse_mask(image: np.ndarray, factor: int) -> np.ndarray:
    small = ndi.gaussian_filter(downscale_local_mean(image, (factor, factor)), 1.5)
    if float(small.max()) - float(small.min()) < 1e-6:
        return np.zeros_like(small, dtype=bool)
    mask = small > 0.5 * threshold_otsu(small)
    mask = ndi.binary_opening(mask, iterations=2)
    return _largest_component(mask)


def breast_mask(image: np.ndarray, factor: int = 4) -> np.ndarray:
    """Boolean (H, W) mask of the breast in a (H, W) mammogram with intensities in [0, 1] (dense = bright)."""
    image = np.asarray(image, dtype=np.float32)
    coarse = _coarse_mask(image, factor)
    full = np.kron(coarse, np.ones((factor, factor), dtype=bool))
    out = np.zeros(image.shape, dtype=bool)
    h, w = min(full.shape[0], image.shape[0]), min(full.shape[1], image.shape[1])
    out[:h, :w] = full[:h, :w]
    return out


def sample_normal_centers(
    image: np.ndarray, num: int, roi_size: int, rng: np.random.Generator, factor: int = 4
) -> list[tuple[int, int]]:
    """Draw up to ``num`` ROI centres (row, col) whose whole ``roi_size`` window lies inside the breast.

    Centres are drawn without replacement on a grid of ``factor`` pixels, so ROIs from one image rarely
    coincide. Fewer than ``num`` (possibly none) are returned when the breast is too small.
    """
    coarse = _coarse_mask(np.asarray(image, dtype=np.float32), factor)
    distance = ndi.distance_transform_edt(np.pad(coarse, 1))[1:-1, 1:-1]  # the image border counts as outside
    inside = distance * factor >= roi_size / 2 * np.sqrt(2)
    rows, cols = np.nonzero(inside)
    if rows.size == 0 or num <= 0:
        return []
    picks = rng.choice(rows.size, size=min(num, rows.size), replace=False)
    return [(int(rows[i]) * factor + factor // 2, int(cols[i]) * factor + factor // 2) for i in picks]


class BreastMask(Transform):
    """Channel-first (1, H, W) mammogram in [0, 1] to a (1, H, W) boolean breast mask (see :func:`breast_mask`)."""

    def __init__(self, factor: int = 4):
        self.factor = factor

    def __call__(self, img: NdarrayOrTensor) -> NdarrayOrTensor:
        array = convert_to_numpy(img)
        if array.ndim != 3 or array.shape[0] != 1:
            raise ValueError(f"BreastMask expects a (1, H, W) image, got shape {tuple(array.shape)}")
        mask = breast_mask(array[0], self.factor)[None]
        return convert_to_dst_type(mask, img, dtype=torch.bool if isinstance(img, torch.Tensor) else bool)[0]
