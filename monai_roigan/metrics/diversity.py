"""Diversity of a set of ROIs: mean pairwise MS-SSIM (a mode-collapse indicator).

Identical images score 1, unrelated ones near 0. A generator that collapses onto a few modes gives a class
a mean pairwise MS-SSIM well above that of the real ROIs of the class. MONAI's
:class:`~monai.metrics.MultiScaleSSIMMetric` needs ``kernel_size=3`` at 64x64 (five scales down to 4 px).
"""

from __future__ import annotations

import itertools

import numpy as np
import torch
from monai.metrics import MultiScaleSSIMMetric

__all__ = ["mean_pairwise_msssim"]


@torch.no_grad()
def mean_pairwise_msssim(images: torch.Tensor, pairs: int = 300, seed: int = 0, kernel_size: int = 3) -> float:
    """Mean MS-SSIM over up to ``pairs`` random pairs of distinct images (N >= 2, 1, S, S) in [-1, 1]."""
    if len(images) < 2:
        raise ValueError(f"need at least two images for pairwise MS-SSIM, got {len(images)}")
    rng = np.random.default_rng(seed)
    all_pairs = list(itertools.combinations(range(len(images)), 2))
    chosen = [all_pairs[i] for i in rng.choice(len(all_pairs), min(pairs, len(all_pairs)), replace=False)]
    first, second = (torch.as_tensor(np.array(side)) for side in zip(*chosen))
    images = torch.as_tensor(images).float().cpu() * 0.5 + 0.5
    metric = MultiScaleSSIMMetric(spatial_dims=2, data_range=1.0, kernel_size=kernel_size)
    return float(metric(images[first], images[second]).mean())
