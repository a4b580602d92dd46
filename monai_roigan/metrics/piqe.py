"""PIQE: the perception-based image quality evaluator of Venkatanath et al. (NCC 2015), a no-reference score.

PIQE needs no model and no training data. It looks only at *spatially active* 16x16 blocks, asks of each
whether it shows a noticeable artifact (blockiness, a flat run along its border) or white noise, and averages
a per-block distortion over the active blocks. The score lies in [0, 100]; **lower is better**. The bands
MathWorks gives (from the LIVE IQA database) are excellent 0-20, good 21-35, fair 36-50, poor 51-80 and
bad 81-100 (:func:`quality_band`). They were set on photographs, not on mammograms.

Inputs are images (N, 1, H, W), (N, H, W), or one (H, W) / (1, H, W) image, float in [-1, 1]. The algorithm:

1. Intensities are clipped to [-1, 1], mapped to 0..255 and rounded to integers (as MATLAB's ``piqe`` does,
   so a float image scores as it would once saved as 8 bits). MSCN coefficients ``(I - mu) / (sigma + 1)``
   come from :mod:`~monai_roigan.metrics.niqe` (7x7 Gaussian window, sigma 7/6, C = 1; paper Sec. II-A).
2. The image is cropped to the largest multiple of 16 on each side (top-left part kept) and cut into
   non-overlapping 16x16 blocks (paper: n = 16); the MSCN is computed on the cropped image.
3. A block is spatially active when the sample variance ``v_k`` of its MSCN coefficients exceeds
   ``T_U = 0.1`` (paper and MATLAB: 0.1).
4. Noticeable artifact (paper Sec. II-B.1): each of the block's 4 edges (first and last row and column of the
   MSCN block) is cut into 11 overlapping segments of 6 pixels (``x = q .. q + 5``, q = 1..11). The
   criterion fires when any segment has a sample standard deviation below ``T_STD = 0.1``.
5. Noise (paper Sec. II-B.2, constants as in MATLAB): ``sigma = sqrt(v_k)``; ``r`` is the ratio of the
   standard deviation of the two centre columns to that of the other 14 columns;
   ``beta = |sigma - r| / max(sigma, r)``. The criterion fires when ``sigma > 2 beta``.
6. Block distortion ``D_k = [artifact] (1 - v_k) + [noise] v_k``, so 1 when both fire, and
   ``PIQE = 100 (sum_k D_k + C1) / (N_sa + C1)`` with ``C1 = 1`` over the ``N_sa`` active blocks.

Choices and differences from MATLAB's ``piqe`` (R2018b+), which is the reference implementation the constants
above were checked against:

- An image with **no active block** (e.g. constant) scores ``C1 / C1 = 100``: "bad". This is the paper's
  formula and MATLAB's documented behaviour ("If input image I is uniform or homogeneous, PIQE provides 100").
  A very smooth or strongly blurred ROI therefore scores badly, not well.
- ``v_k`` is clipped to [0, 1] inside ``D_k`` so each block contributes in [0, 1] and the score stays in
  [0, 100]; MATLAB does not clip (an MSCN variance above 1 needs isolated specks, e.g. calcifications).
- Sides that are not a multiple of 16 are cropped; MATLAB pads the image by replication to a multiple of 16.
- The Gaussian filter reflects at the image border (scipy), MATLAB replicates: only border pixels differ.
- The noise criterion's surround is the 14 columns other than the two centre ones; MATLAB's code drops the
  8th and 10th columns (1-based) instead, a slip after deleting the 8th.
- Activity uses ``v_k > 0.1`` (MATLAB); the paper writes ``v_k >= T_U``. Only exact ties differ.

On 64 px ROIs there are only 16 blocks, so one block moves the score by up to 100 / 17, about 6 points.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from monai_roigan.metrics.image_stack import gray_stack
from monai_roigan.metrics.niqe import _mscn

__all__ = [
    "BLOCK",
    "QUALITY_BANDS",
    "PIQEMaps",
    "piqe",
    "piqe_maps",
    "piqe_scores",
    "noticeable_artifact",
    "noisy_block",
    "quality_band",
]

BLOCK = 16  #: block side in pixels (paper: n = 16)
_SEGMENT = 6  # pixels per edge segment (paper: x = q .. q + 5), 11 segments per 16-px edge
_T_ACTIVE = 0.1  # T_U: MSCN variance above which a block is spatially active
_T_STD = 0.1  # T_STD: segment standard deviation below which an edge segment is "flat"
_C1 = 1.0  # pooling constant
#: (upper bound, name) of the MathWorks quality bands; a score s falls in the first band with s <= bound
QUALITY_BANDS = ((20.0, "excellent"), (35.0, "good"), (50.0, "fair"), (80.0, "poor"), (100.0, "bad"))


class PIQEMaps(NamedTuple):
    """The score and per-block maps (H // 16, W // 16) of one image; row 0 is the top row of blocks."""

    score: float
    activity: np.ndarray  # bool: spatially active (v_k > 0.1)
    artifact: np.ndarray  # bool: active and the noticeable-artifact criterion fired
    noise: np.ndarray  # bool: active and the noise criterion fired
    distortion: np.ndarray  # float D_k in [0, 1], 0 for inactive blocks
    variance: np.ndarray  # float v_k, the MSCN sample variance of each block


def _blocks(mscn: np.ndarray) -> np.ndarray:
    """(rows, cols, 16, 16) non-overlapping blocks of an (H, W) map whose sides are multiples of 16."""
    rows, cols = mscn.shape[0] // BLOCK, mscn.shape[1] // BLOCK
    return mscn.reshape(rows, BLOCK, cols, BLOCK).swapaxes(1, 2)


def noticeable_artifact(blocks: np.ndarray) -> np.ndarray:
    """Whether each MSCN block (..., 16, 16) has an edge segment of 6 px with sample std below 0.1."""
    blocks = np.asarray(blocks, dtype=np.float64)
    edges = np.stack([blocks[..., 0, :], blocks[..., -1, :], blocks[..., :, 0], blocks[..., :, -1]], axis=-2)
    segments = sliding_window_view(edges, _SEGMENT, axis=-1)  # (..., 4, 11, 6)
    return (segments.std(axis=-1, ddof=1) < _T_STD).any(axis=(-2, -1))


def noisy_block(blocks: np.ndarray) -> np.ndarray:
    """Whether each MSCN block (..., 16, 16) meets the white-noise criterion ``sigma > 2 beta``."""
    blocks = np.asarray(blocks, dtype=np.float64)
    lead = blocks.shape[:-2]
    sigma = np.sqrt(blocks.reshape(*lead, -1).var(axis=-1, ddof=1))
    mid = BLOCK // 2
    centre = blocks[..., :, mid - 1 : mid + 1].reshape(*lead, -1).std(axis=-1, ddof=1)
    surround = np.concatenate([blocks[..., :, : mid - 1], blocks[..., :, mid + 1 :]], axis=-1)
    surround = surround.reshape(*lead, -1).std(axis=-1, ddof=1)
    ratio = np.divide(centre, surround, out=np.zeros_like(centre), where=surround > 0)
    top = np.maximum(sigma, ratio)
    beta = np.divide(np.abs(sigma - ratio), top, out=np.ones_like(top), where=top > 0)
    return sigma > 2.0 * beta


def _as_2d(image) -> np.ndarray:
    array = np.asarray(image, dtype=np.float64)
    if array.ndim == 3 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 2:
        raise ValueError(f"expected one (H, W) or (1, H, W) image, got shape {array.shape}")
    if min(array.shape) < BLOCK:
        raise ValueError(f"PIQE needs an image of at least {BLOCK}x{BLOCK} pixels, got {array.shape}")
    rows, cols = array.shape[0] // BLOCK * BLOCK, array.shape[1] // BLOCK * BLOCK
    return array[:rows, :cols]


def piqe_maps(image) -> PIQEMaps:
    """PIQE score and per-block maps of one (H, W) or (1, H, W) image in [-1, 1] (see the module docstring)."""
    grey = np.rint((np.clip(_as_2d(image), -1.0, 1.0) + 1.0) * 127.5)
    blocks = _blocks(_mscn(grey)[0])
    variance = blocks.reshape(*blocks.shape[:2], -1).var(axis=-1, ddof=1)
    activity = variance > _T_ACTIVE
    artifact = activity & noticeable_artifact(blocks)
    noise = activity & noisy_block(blocks)
    v = np.clip(variance, 0.0, 1.0)
    distortion = artifact * (1.0 - v) + noise * v
    score = 100.0 * (float(distortion.sum()) + _C1) / (float(activity.sum()) + _C1)
    return PIQEMaps(score, activity, artifact, noise, distortion, variance)


def piqe(image) -> float:
    """PIQE of one (H, W) or (1, H, W) image in [-1, 1]: in [0, 100], lower is better; 100 with no active block."""
    return piqe_maps(image).score


def piqe_scores(images) -> np.ndarray:
    """PIQE of each image in (N, 1, H, W) or (N, H, W), in [-1, 1]; (N,) float64."""
    return np.asarray([piqe(image) for image in gray_stack(images)], dtype=np.float64)


def quality_band(score: float) -> str:
    """The MathWorks quality band of a PIQE score: excellent, good, fair, poor or bad (bands set on photographs)."""
    for bound, name in QUALITY_BANDS:
        if score <= bound:
            return name
    return "bad"
