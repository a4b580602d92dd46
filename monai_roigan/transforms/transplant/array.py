"""``TransplantLesion``: move a real lesion's residual into another real tissue ROI, with no training (dictionary
twin: :class:`~monai_roigan.transforms.transplant.dictionary.TransplantLesiond`).

Copy-paste moves a lesion's pixels, and with them its own tissue and the seam around the pasted disc. A transplant
moves only what the lesion adds to its tissue (Gündel et al. 2020):

- **residual** = lesion ROI - background, the background being the lesion ROI in-painted over the lesion's mask from
  its surround (scikit-image's ``inpaint_biharmonic``, :func:`lesion_residual`). Outside the mask the residual is
  exactly 0; inside it falls to 0 over ``feather`` pixels from the mask's edge, so the transplant has no rim.
- **out** = ``clip(tissue + gain * warp(residual'), value_range)``: ``residual'`` is the residual with a random
  left-right flip, quarter turns and zoom about the centre (as :class:`~monai_roigan.transforms.CopyPasteLesion`),
  ``warp`` a random elastic deformation (MONAI's ``Rand2DElastic``), ``gain`` drawn from ``gain_range``.

The residual carries no background level (the in-painted background is subtracted), so the lesion sits on the
target tissue's own intensity: it is matched to the target by construction. ROIs are channel-first (C, S, S) in
``value_range`` (the package's ROIs: [-1, 1]); the default mask is the centred disc of radius ``outer`` of the
half-width, where a lesion ROI holds its lesion. Randomness comes from ``self.R`` only (``set_random_state``), so the
same seed gives the same ROIs. Meta: as :class:`~monai_roigan.transforms.CopyPasteLesion` (``pasted``,
``pasted_class``, ``pasted_lesion``; ``pasted_blend`` is always ``"additive"``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from monai.data import MetaTensor
from monai.transforms import Rand2DElastic, Transform
from monai.utils import TransformBackends
from scipy import ndimage
from skimage.restoration import inpaint_biharmonic

from monai_roigan.transforms.copy_paste.array import CopyPasteLesion, blend_mask

__all__ = ["LesionResidual", "TransplantLesion", "lesion_residual", "residual_taper"]


def residual_taper(mask, shape: tuple, feather: float = 3.0, where: str = "lesion") -> np.ndarray:
    """(S, S) float64 weights of a residual: 1 inside ``mask`` more than ``feather`` pixels from its edge, rising
    linearly from 0 at the edge (``feather`` 0: 1 on the whole mask), 0 outside.

    Args:
        mask: (S, S) or (1, S, S), nonzero where the lesion is.
        shape: the ROI's shape (C, S, S).
        feather: pixels over which the weight rises from the mask's edge.
        where: how errors name the ROI.

    Raises:
        ValueError: a mask of another size than the ROI, an empty mask, or one that leaves no surround, naming
            ``where`` and the shapes.
    """
    mask = np.asarray(mask) != 0
    mask = mask[0] if mask.ndim == 3 and mask.shape[0] == 1 else mask
    if len(shape) != 3 or mask.shape != tuple(shape[1:]):
        raise ValueError(f"{where}: mask of shape {mask.shape} for an ROI of shape {shape}; need (S, S) = ROI's")
    if not mask.any():
        raise ValueError(f"{where}: the lesion mask {mask.shape} is empty, there is no lesion to transplant")
    if mask.all():
        raise ValueError(f"{where}: the lesion mask covers the whole {mask.shape} ROI and leaves no surround")
    depth = ndimage.distance_transform_edt(mask)  # pixels from the nearest unmasked pixel
    return np.clip(depth / feather, 0, 1) if feather > 0 else mask.astype(float)


def lesion_residual(roi, mask, feather: float = 3.0, where: str = "lesion") -> torch.Tensor:
    """(C, S, S) float32: ``roi`` minus its background in-painted over ``mask``, times :func:`residual_taper` (0
    outside ``mask``, tapering to 0 over ``feather`` pixels inside its edge).

    Args:
        roi: a lesion ROI (C, S, S).
        mask: (S, S) or (1, S, S), nonzero where the lesion is (the region to in-paint).
        feather: pixels over which the residual fades in from the mask's edge (0: a hard edge).
        where: how errors name the ROI.

    Raises:
        ValueError: as :func:`residual_taper`.
    """
    roi = np.asarray(roi, dtype=np.float64)
    taper = residual_taper(mask, roi.shape, feather, where)
    background = inpaint_biharmonic(roi, taper > 0, channel_axis=0)
    return torch.from_numpy(((roi - background) * taper).astype(np.float32))


class LesionResidual(Transform):
    """A lesion ROI (C, S, S) to its residual (:func:`lesion_residual`), e.g. to train a generator of residuals.

    ``__call__(roi, mask=None)``: ``mask`` (S, S) or (1, S, S), nonzero on the lesion; None: the centred disc of
    radius ``outer`` of the half-width. Returns a float32 tensor (a MetaTensor with ``roi``'s meta for a MetaTensor).

    Args:
        outer: the default mask's radius, as a fraction of the half-width (as :class:`TransplantLesion`).
        feather: pixels over which the residual fades in from the mask's edge.
        scale: factor on the residual (a generator learns residuals of a few hundredths of the [-1, 1] range badly;
            :class:`TransplantLesion`'s ``residual_scale`` divides by the same factor).
    """

    backend = [TransformBackends.TORCH, TransformBackends.NUMPY]

    def __init__(self, outer: float = 0.6, feather: float = 3.0, scale: float = 1.0):
        if not scale > 0:
            raise ValueError(f"the residual scale must be positive, got {scale}")
        self.outer, self.feather, self.scale = float(outer), float(feather), float(scale)

    def __call__(self, roi, mask=None, where: str = "LesionResidual"):
        if mask is None:
            mask = blend_mask(np.shape(roi)[-1], self.outer / 2, self.outer).numpy() > 0
        values = roi.as_tensor() if isinstance(roi, MetaTensor) else roi
        residual = lesion_residual(np.asarray(values), np.asarray(mask), self.feather, where) * self.scale
        return MetaTensor(residual, meta=dict(roi.meta)) if isinstance(roi, MetaTensor) else residual


class TransplantLesion(CopyPasteLesion):
    """With probability ``prob``, add the residual of one of ``lesions`` to the ROI it receives (module docstring).

    ``__call__(img, lesion_index=None)``: ``img`` (C, S, S) tensor, array or MetaTensor; returns a MetaTensor.

    Args:
        lesions: real lesion ROIs, each (C, S, S) like the ROIs this transform receives.
        lesion_ids: one id per lesion for the meta (default ``"lesion-<k>"``); never a file path of a patient.
        prob: probability of transplanting.
        masks: one (S, S) lesion mask per lesion (e.g. CBIS-DDSM's), or None for the centred disc of radius
            ``outer`` of the half-width.
        outer: the default mask's radius, as a fraction of the half-width.
        feather: pixels over which the residual fades in from the mask's edge.
        flip, rotate, scale_range: the residual's random left-right flip, quarter turns and zoom.
        gain_range: (low, high) factor on the residual.
        warp_magnitude: (low, high) magnitude of the elastic warp (MONAI ``Rand2DElastic``; (0, 0): none).
        warp_spacing: the warp's control-point spacing in pixels.
        value_range: the output is clipped to it.
        residual_input: ``lesions`` are residuals already (e.g. a residual generator's, trained through
            :class:`LesionResiduald`): divided by ``residual_scale`` and multiplied by :func:`residual_taper` of the
            mask (the given one, or the disc), the weights real residuals get, with no in-painting.
        residual_scale: the ``scale`` of :class:`LesionResidual` the given residuals were made with.

    Raises:
        ValueError: as :class:`~monai_roigan.transforms.CopyPasteLesion`, a mask count other than the lesion count, or
            a mask that :func:`lesion_residual` refuses.
    """

    def __init__(
        self,
        lesions: Sequence,
        lesion_ids: Sequence[str] | None = None,
        prob: float = 1.0,
        masks: Sequence | None = None,
        outer: float = 0.6,
        feather: float = 3.0,
        flip: bool = True,
        rotate: bool = True,
        scale_range: tuple[float, float] = (0.85, 1.15),
        gain_range: tuple[float, float] = (0.6, 1.2),
        warp_magnitude: tuple[float, float] = (0.0, 2.0),
        warp_spacing: int = 16,
        value_range: tuple[float, float] = (-1.0, 1.0),
        residual_input: bool = False,
        residual_scale: float = 1.0,
    ):
        super().__init__(
            lesions, lesion_ids, prob, outer / 2, outer, flip, rotate, scale_range, contrast_range=gain_range
        )
        if masks is None:
            masks = [blend_mask(self.shape[-1], outer / 2, outer).numpy() > 0] * len(self.lesions)
        if len(masks) != len(self.lesions):
            raise ValueError(f"{len(masks)} masks for {len(self.lesions)} lesions")
        if not residual_scale > 0:
            raise ValueError(f"residual_scale must be positive, got {residual_scale}")
        if residual_input:  # the taper of lesion_residual, so given residuals end at the mask as real ones do
            self.residuals = [
                roi * torch.from_numpy(residual_taper(mask, tuple(roi.shape), feather, name)).float() / residual_scale
                for roi, mask, name in zip(self.lesions, masks, self.lesion_ids)
            ]
        else:
            self.residuals = [
                lesion_residual(roi, mask, feather, where=name)
                for roi, mask, name in zip(self.lesions, masks, self.lesion_ids)
            ]
        self.blend_modes, self.mode = ("additive",), "additive"  # what the meta's pasted_blend says
        self.value_range = tuple(float(v) for v in value_range)
        self.warp = Rand2DElastic(
            spacing=warp_spacing, magnitude_range=warp_magnitude, prob=1.0, padding_mode="zeros"
        ).set_random_state(state=self.R)
        self.warp_on = float(warp_magnitude[1]) > 0

    def set_random_state(self, seed: int | None = None, state: np.random.RandomState | None = None):
        super().set_random_state(seed, state)
        if hasattr(self, "warp"):
            self.warp.set_random_state(state=self.R)
        return self

    def transplanted_residual(self) -> torch.Tensor:
        """The drawn lesion's residual, flipped, turned, zoomed and warped (C, S, S), before the gain."""
        residual = self.jittered(self.residuals[self.lesion_index], padding_mode="constant")
        if self.warp_on:
            residual = self.warp(residual)
            residual = residual.as_tensor() if isinstance(residual, MetaTensor) else torch.as_tensor(residual)
        return residual

    def blend(self, tissue: torch.Tensor) -> torch.Tensor:
        """``tissue`` (C, S, S) plus the gained residual, clipped to ``value_range``."""
        return (tissue + self.contrast * self.transplanted_residual()).clamp(*self.value_range)
