"""``CopyPasteLesion``: paste a real lesion into a real tissue ROI, with no training at all (dictionary twin:
:class:`~monai_roigan.transforms.copy_paste.dictionary.CopyPasteLesiond`).

The baseline every generator must beat: a real lesion ROI of the wanted class is jittered (left-right flip,
90-degree rotation, scale about its centre, contrast), placed on the local background level of a real
normal-tissue ROI, and blended into it through a soft mask (:mod:`monai_roigan.transforms.blending`):

``out = mask * lesion' + (1 - mask) * tissue`` by default (``feathered``), ``mask`` = 1 within ``inner`` of the
half-width, falling as a raised cosine to 0 at ``outer`` of the half-width (``mask_shape="disc"``).

So the tissue ROI is left exactly as it was where the mask is 0, and the (jittered) lesion is exactly what is
inside where the mask is 1. With ``mask_shape="random"`` each paste draws a blob of random size, shape and edge
width (:func:`~monai_roigan.transforms.blending.random_soft_mask`) instead of the disc, and with several
``blend_modes`` each paste draws its mode (``hard``, ``feathered``, ``poisson``, ``additive``), so the pastes share no
seam a classifier could learn. The lesion's contrast against its own surroundings is kept (times the contrast
jitter): ``lesion' = level + c * (lesion - lesion ring mean)``, the ring being where the mask falls from 1 to 0,
and ``level`` the lesion's ring mean moved ``intensity_match`` of the way to the tissue's (1: all the way, the
default; 0.5: half-way; 0: the lesion's own level). With ``radius_range`` the mask's radii are scaled by a factor
drawn per paste, so the pasted disc varies in size. ROIs are channel-first (C, H, W) in the pipeline's range (the
package's ROIs: [-1, 1]); lesion and tissue ROIs have the same shape.

Randomness comes from ``self.R`` only (``set_random_state``; MONAI seeds each ``DataLoader`` worker), so the same
seed gives the same pasted ROIs. Meta of the output (a MetaTensor): the tissue ROI's meta, plus ``pasted``
(True/False on every sample, so batches collate), ``pasted_class``, ``pasted_lesion`` (the lesion's ROI id,
never a patient path) and ``pasted_blend`` (the blend mode; "" when nothing was pasted).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from monai.data import MetaTensor
from monai.transforms import RandomizableTransform, Zoom
from monai.utils import TransformBackends

from monai_roigan.transforms.blending import MASK_SHAPES, blend, blend_mask, check_blend_modes, random_soft_mask

__all__ = ["CopyPasteLesion", "blend_mask", "mark_unpasted"]  # blend_mask: from blending, kept here for old imports


def mark_unpasted(img):
    """``img`` as a MetaTensor with ``pasted=False`` (so pasted and untouched ROIs collate in one batch)."""
    img = img if isinstance(img, MetaTensor) else MetaTensor(torch.as_tensor(img))
    img.meta.update(pasted=False, pasted_class="", pasted_lesion="", pasted_blend="")
    return img


class CopyPasteLesion(RandomizableTransform):
    """With probability ``prob``, paste one of ``lesions`` into the ROI it receives (see the module docstring).

    ``__call__(img, lesion_index=None)``: ``img`` (C, H, W) tensor, array or MetaTensor; ``lesion_index`` picks the
    lesion (None: a random one). Returns a MetaTensor like ``img``.

    Args:
        lesions: real lesion ROIs, each (C, H, W) like the ROIs this transform receives.
        lesion_ids: one id per lesion for the meta (default ``"lesion-<k>"``); never a file path of a patient.
        prob: probability of pasting.
        inner, outer: the mask's flat core and outer edge, as fractions of the half-width.
        flip, rotate: jitter by a random left-right flip and a random multiple of 90 degrees.
        scale_range: (low, high) zoom of the lesion about the centre (1, 1: none).
        contrast_range: (low, high) factor on the lesion's contrast against its surroundings.
        radius_range: (low, high) factor on ``inner`` and ``outer`` drawn per paste ((1, 1): a fixed mask; the
            outer edge is capped at the half-width).
        intensity_match: in [0, 1], how far the lesion's level moves to the tissue's (module docstring).
        mask_shape: ``"disc"`` (``inner``, ``outer``, ``radius_range``) or ``"random"`` (a random soft blob per paste,
            whose soft edge is the ring; ``inner``, ``outer`` and ``radius_range`` are then unused).
        blend_modes: the modes one is drawn from per paste (:data:`~monai_roigan.transforms.blending.BLEND_MODES`);
            ``additive`` adds the lesion's contrast over its ring level to the tissue.

    Raises:
        ValueError: no lesions, lesions of different shapes, ids of another count, ranges out of order,
            ``intensity_match`` outside [0, 1], an unknown mask shape or blend mode.
    """

    backend = [TransformBackends.TORCH]

    def __init__(
        self,
        lesions: Sequence,
        lesion_ids: Sequence[str] | None = None,
        prob: float = 1.0,
        inner: float = 0.35,
        outer: float = 0.6,
        flip: bool = True,
        rotate: bool = True,
        scale_range: tuple[float, float] = (0.85, 1.15),
        contrast_range: tuple[float, float] = (0.8, 1.2),
        radius_range: tuple[float, float] = (1.0, 1.0),
        intensity_match: float = 1.0,
        mask_shape: str = "disc",
        blend_modes: Sequence[str] = ("feathered",),
    ):
        RandomizableTransform.__init__(self, prob)
        if len(lesions) == 0:
            raise ValueError("CopyPasteLesion needs at least one lesion ROI")
        self.lesions = [torch.as_tensor(np.asarray(x), dtype=torch.float32) for x in lesions]
        shapes = {tuple(x.shape) for x in self.lesions}
        if len(shapes) != 1 or len(next(iter(shapes))) != 3 or next(iter(shapes))[1] != next(iter(shapes))[2]:
            raise ValueError(f"lesion ROIs must all be (C, S, S) of one shape, got shapes {sorted(shapes)}")
        self.lesion_ids = [f"lesion-{k}" for k in range(len(lesions))] if lesion_ids is None else list(lesion_ids)
        if len(self.lesion_ids) != len(self.lesions):
            raise ValueError(f"{len(self.lesion_ids)} lesion ids for {len(self.lesions)} lesions")
        ranges = (("scale_range", scale_range), ("contrast_range", contrast_range), ("radius_range", radius_range))
        for name, (low, high) in ranges:
            if not 0 < low <= high:
                raise ValueError(f"{name} must be (low, high) with 0 < low <= high, got {(low, high)}")
        if not 0.0 <= intensity_match <= 1.0:
            raise ValueError(f"intensity_match must be in [0, 1], got {intensity_match}")
        if mask_shape not in MASK_SHAPES:
            raise ValueError(f"mask_shape must be one of {MASK_SHAPES}, got {mask_shape!r}")
        self.mask_shape, self.blend_modes = mask_shape, check_blend_modes(blend_modes)
        self.mode = self.blend_modes[0]
        self.level = torch.zeros(1)
        self.shape = next(iter(shapes))
        self.inner, self.outer = inner, outer
        self.radius_range = tuple(float(v) for v in radius_range)
        self.intensity_match = intensity_match
        self._set_mask(1.0)
        self.flip = flip
        self.rotate = rotate
        self.scale_range = scale_range
        self.contrast_range = contrast_range
        self.where = type(self).__name__  # how errors name the input (the dictionary twin: the key)
        self.lesion_index = 0
        self.flipped = False
        self.turns = 0
        self.scale = 1.0
        self.contrast = 1.0

    def _set_mask(self, factor: float) -> None:
        """The disc mask with ``inner`` and ``outer`` scaled by ``factor`` (outer capped at 1), and its ring."""
        outer = min(self.outer * factor, 1.0)
        self._use_mask(blend_mask(self.shape[-1], self.inner * outer / self.outer, outer))

    def _use_mask(self, mask: torch.Tensor) -> None:
        self.mask = mask
        self.ring = (self.mask > 0) & (self.mask < 1)

    def _draw_jitter(self, lesion_index: int | None = None) -> None:
        """Draw the lesion (unless given), its flip, turns, scale, contrast, mask and blend mode from ``self.R``
        (no draw for a setting that cannot vary, so earlier seeds paste as before)."""
        self.lesion_index = int(self.R.randint(len(self.lesions))) if lesion_index is None else int(lesion_index)
        self.flipped = bool(self.flip and self.R.rand() < 0.5)
        self.turns = int(self.R.randint(4)) if self.rotate else 0
        self.scale = float(self.R.uniform(*self.scale_range))
        self.contrast = float(self.R.uniform(*self.contrast_range))
        if self.mask_shape == "random":
            self._use_mask(random_soft_mask(self.shape[-1], self.R))
        elif self.radius_range != (1.0, 1.0):
            self._set_mask(float(self.R.uniform(*self.radius_range)))
        if len(self.blend_modes) > 1:
            self.mode = self.blend_modes[int(self.R.randint(len(self.blend_modes)))]

    def jittered(self, image: torch.Tensor, padding_mode: str = "reflect") -> torch.Tensor:
        """``image`` (C, S, S) with the drawn flip, quarter turns and zoom about the centre (no contrast)."""
        if self.flipped:
            image = torch.flip(image, dims=(-1,))
        image = torch.rot90(image, self.turns, dims=(-2, -1))
        if self.scale != 1.0:
            image = Zoom(self.scale, mode="bilinear", padding_mode=padding_mode, keep_size=True)(image)
            image = image.as_tensor() if isinstance(image, MetaTensor) else torch.as_tensor(image)
        return image

    def jittered_lesion(self, tissue: torch.Tensor) -> torch.Tensor:
        """The chosen lesion, flipped, turned, zoomed and contrast-scaled onto ``tissue``'s ring level: (C, S, S)."""
        lesion = self.jittered(self.lesions[self.lesion_index])
        own, target = lesion[:, self.ring].mean(1), tissue[:, self.ring].mean(1)
        self.level = (own + self.intensity_match * (target - own))[:, None, None]
        return self.level + self.contrast * (lesion - own[:, None, None])

    def blend(self, tissue: torch.Tensor) -> torch.Tensor:
        """The tissue ROI (C, S, S) with the drawn lesion blended in through the mask, in the drawn mode."""
        lesion = self.jittered_lesion(tissue)
        return blend(tissue, lesion, self.mask, self.mode, background=self.level)

    def paste(self, img, lesion_index: int | None = None) -> MetaTensor:
        """Paste now (no coin flip): draws the jitter, blends, and returns a MetaTensor with the ``pasted`` meta."""
        tissue = torch.as_tensor(img.as_tensor() if isinstance(img, MetaTensor) else img, dtype=torch.float32).cpu()
        if tuple(tissue.shape) != self.shape:
            raise ValueError(f"{self.where}: tissue ROI of shape {tuple(tissue.shape)}, the lesions are {self.shape}")
        self._draw_jitter(lesion_index)
        out = self.blend(tissue)
        meta = dict(img.meta) if isinstance(img, MetaTensor) else {}
        meta.update(pasted=True, pasted_lesion=self.lesion_ids[self.lesion_index], pasted_blend=self.mode)
        meta.setdefault("pasted_class", "")
        device = img.device if isinstance(img, torch.Tensor) else "cpu"
        return MetaTensor(out.to(device), meta=meta)

    def __call__(self, img, lesion_index: int | None = None, randomize: bool = True):
        if randomize:
            self.randomize(None)
        return self.paste(img, lesion_index) if self._do_transform else mark_unpasted(img)
