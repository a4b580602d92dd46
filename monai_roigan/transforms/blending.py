"""How a lesion meets the tissue it is put into: blend masks and blend modes.

Used by :class:`~monai_roigan.transforms.CopyPasteLesion` (a real lesion pasted) and
:class:`~monai_roigan.transforms.InsertSyntheticLesion` (a context generator's lesion painted in). A classifier
trained on insertions that all share one seam learns the seam (Dwibedi et al. 2017); drawing the mask's shape and the
blend mode per insertion leaves it no single seam to learn.

Masks are (S, S) float32 weights in [0, 1] on an S x S ROI (row 0 at the top), 1 where the lesion replaces the tissue:

- :func:`blend_mask`: a centred disc with a raised-cosine edge;
- :func:`random_soft_mask`: a blob of random size, shape and edge width near the centre.

Blend modes (:data:`BLEND_MODES`, :func:`blend`), for a tissue ROI ``t``, a lesion layer ``l`` (an ROI holding the
lesion at the same place, in the same intensities) and a mask ``m``:

- ``hard``: ``l`` where ``m >= 0.5``, else ``t`` (a sharp edge);
- ``feathered``: ``m * l + (1 - m) * t``;
- ``poisson``: a gradient-domain blend (Pérez et al. 2003). Inside the mask's support the lesion's gradients are kept,
  its offset to the tissue on the support's edge is spread smoothly inward (scikit-image's ``inpaint_biharmonic`` of
  ``t - l``, a biharmonic rather than a harmonic membrane), so the edge has no step; outside it, ``t``;
- ``additive``: ``t + m * (l - b)``: the lesion's contrast over its own background ``b`` (given by the caller) is added
  to the tissue, which keeps its texture. Whatever of the lesion's own tissue ``l - b`` still holds is added too:
  with a flat ``b`` (copy-paste's ring level) the two textures are summed inside the mask.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from skimage.restoration import inpaint_biharmonic

__all__ = [
    "BLEND_MODES",
    "MASK_SHAPES",
    "SEAMLESS_BLEND_MODES",
    "blend",
    "blend_mask",
    "check_blend_modes",
    "random_soft_mask",
]

#: the blend modes of :func:`blend`
BLEND_MODES = ("hard", "feathered", "poisson", "additive")

#: the modes of a seamless insertion: every mode but ``hard``, whose step edge adds high-frequency power that a
#: classifier can learn as the mark of an insertion (``docs/results.md``)
SEAMLESS_BLEND_MODES = ("feathered", "poisson", "additive")

#: the mask shapes a transform draws: the centred disc of :func:`blend_mask`, or :func:`random_soft_mask`'s blobs
MASK_SHAPES = ("disc", "random")


def blend_mask(size: int, inner: float = 0.35, outer: float = 0.6) -> torch.Tensor:
    """(size, size) float32 weights: 1 within ``inner`` of the half-width from the centre, a raised cosine down to 0
    at ``outer`` of the half-width, 0 beyond (0 < inner < outer <= 1)."""
    if not 0 < inner < outer <= 1:
        raise ValueError(f"need 0 < inner < outer <= 1, got inner={inner}, outer={outer}")
    centre = (size - 1) / 2
    yy, xx = np.mgrid[:size, :size]
    r = np.hypot(yy - centre, xx - centre) / (size / 2)
    t = np.clip((r - inner) / (outer - inner), 0, 1)
    return torch.from_numpy((0.5 + 0.5 * np.cos(np.pi * t)).astype(np.float32) * (r < outer))


def random_soft_mask(
    size: int,
    rng: np.random.RandomState,
    radius_range: tuple[float, float] = (0.3, 0.7),
    irregularity: float = 0.3,
    feather_range: tuple[float, float] = (1.0, 6.0),
    shift: float = 0.1,
) -> torch.Tensor:
    """(size, size) float32 weights in [0, 1]: a random blob with a soft edge, drawn from ``rng``.

    The blob is star-shaped about a point up to ``shift`` of the half-width from the centre: its radius at angle
    ``a`` is ``r0 * (1 + sum_k c_k cos(k a + p_k))`` for k = 2, 3, 4 (an ellipse-like stretch and lobes), with ``r0``
    drawn from ``radius_range`` (fractions of the half-width) and ``|c_k| <= irregularity / k``. The weight is 1 more
    than a feather width inside the outline, falls as a raised cosine to 0 on it, and is 0 outside; the feather
    width is drawn from ``feather_range`` pixels. The outline stays at least one pixel inside the ROI, and at
    least one pixel has weight 1.

    Raises:
        ValueError: ``size`` below 16, ranges out of order, ``radius_range`` outside (0, 1), or ``irregularity`` /
            ``shift`` outside [0, 0.5].
    """
    if size < 16:
        raise ValueError(f"random_soft_mask needs an ROI of at least 16 pixels a side, got {size}")
    low, high = radius_range
    if not 0 < low <= high < 1:
        raise ValueError(f"radius_range must satisfy 0 < low <= high < 1, got {radius_range}")
    if not 0 < feather_range[0] <= feather_range[1]:
        raise ValueError(f"feather_range must be (low, high) pixels with 0 < low <= high, got {feather_range}")
    if not (0 <= irregularity <= 0.5 and 0 <= shift <= 0.5):
        raise ValueError(f"irregularity and shift must lie in [0, 0.5], got {irregularity} and {shift}")
    half = size / 2
    radius = rng.uniform(low, high) * half
    harmonics = np.arange(2, 5)
    amplitudes = rng.uniform(-irregularity, irregularity, len(harmonics)) / harmonics
    phases = rng.uniform(0, 2 * np.pi, len(harmonics))
    centre = (size - 1) / 2 + rng.uniform(-shift, shift, 2) * half
    edge = min(centre[0], centre[1], size - 1 - centre[0], size - 1 - centre[1]) - 1  # pixels to the ROI's border
    feather = min(rng.uniform(*feather_range), edge / 2)  # a small ROI keeps a core of weight 1
    yy, xx = np.mgrid[:size, :size].astype(np.float64)
    angle = np.arctan2(yy - centre[0], xx - centre[1])
    outline = radius * (
        1 + np.sum(amplitudes[:, None, None] * np.cos(harmonics[:, None, None] * angle + phases[:, None, None]), 0)
    )
    outline = np.clip(outline, feather + 1, edge)  # inside the ROI, and a core of weight 1
    depth = outline - np.hypot(yy - centre[0], xx - centre[1])  # pixels inside the outline
    t = np.clip(1 - depth / feather, 0, 1)
    return torch.from_numpy(((0.5 + 0.5 * np.cos(np.pi * t)) * (depth > 0)).astype(np.float32))


def check_blend_modes(modes: Sequence[str]) -> tuple[str, ...]:
    """``modes`` as a tuple if it is a non-empty list of :data:`BLEND_MODES`; else ValueError naming them."""
    modes = (modes,) if isinstance(modes, str) else tuple(modes)
    wrong = [m for m in modes if m not in BLEND_MODES]
    if not modes or wrong:
        raise ValueError(f"blend_modes must be a non-empty list of {BLEND_MODES}, got {list(modes)}")
    return modes


def blend(
    tissue: torch.Tensor, lesion: torch.Tensor, mask: torch.Tensor, mode: str, background: torch.Tensor | None = None
) -> torch.Tensor:
    """``lesion`` (C, S, S) blended into ``tissue`` (C, S, S) through ``mask`` (S, S) in [0, 1] (module docstring).

    ``mask`` may also be (1, S, S). ``background`` (broadcastable to (C, S, S)): the lesion's own background, needed
    by ``additive`` only.

    Raises:
        ValueError: an unknown mode, ``additive`` without a background, or a mask of another size than the ROIs.
    """
    mask = mask[0] if mask.dim() == 3 and mask.shape[0] == 1 else mask
    if tuple(mask.shape) != tuple(tissue.shape[-2:]) or tissue.shape != lesion.shape:
        raise ValueError(
            f"blend: mask {tuple(mask.shape)}, tissue {tuple(tissue.shape)} and lesion {tuple(lesion.shape)} must be "
            "(S, S), (C, S, S) and (C, S, S)"
        )
    if mode == "hard":
        return torch.where(mask >= 0.5, lesion, tissue)
    if mode == "feathered":
        return mask * lesion + (1 - mask) * tissue
    if mode == "additive":
        if background is None:
            raise ValueError("the additive blend needs the lesion's background")
        return tissue + mask * (lesion - background)
    if mode == "poisson":
        support = (mask > 0).cpu().numpy()
        offset = (tissue - lesion).detach().cpu().double().numpy()
        spread = torch.from_numpy(inpaint_biharmonic(offset, support, channel_axis=0)).to(tissue)
        return torch.where(mask > 0, lesion + spread, tissue)
    raise ValueError(f"unknown blend mode {mode!r}; choose from {BLEND_MODES}")
