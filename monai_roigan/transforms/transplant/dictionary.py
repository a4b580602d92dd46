"""``TransplantLesiond``: the dictionary twin of :class:`~monai_roigan.transforms.transplant.array.TransplantLesion`,
which turns normal-tissue ROIs into ROIs of a lesion class by adding a real lesion's residual, and rewrites the
label."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from monai.config import KeysCollection
from monai.transforms import MapTransform

from monai_roigan.transforms.copy_paste.dictionary import CopyPasteLesiond
from monai_roigan.transforms.transplant.array import LesionResidual, TransplantLesion

__all__ = [
    "LesionResiduald",
    "LesionResidualD",
    "LesionResidualDict",
    "TransplantLesiond",
    "TransplantLesionD",
    "TransplantLesionDict",
]


class LesionResiduald(MapTransform):
    """Dictionary version of :class:`~monai_roigan.transforms.transplant.array.LesionResidual`: the lesion ROIs of
    ``keys`` become their residuals (the in-painted background subtracted), e.g. the training items of a residual
    generator (``bundle/configs/residual.json``).

    Args:
        keys: ROI keys, each (C, S, S).
        mask_key: an entry with the lesion's mask (S, S) (None: the centred disc of radius ``outer``).
        outer, feather, scale: as :class:`~monai_roigan.transforms.transplant.array.LesionResidual`.
        allow_missing_keys: as in MONAI.
    """

    backend = LesionResidual.backend

    def __init__(
        self,
        keys: KeysCollection,
        mask_key: str | None = None,
        outer: float = 0.6,
        feather: float = 3.0,
        scale: float = 1.0,
        allow_missing_keys: bool = False,
    ):
        super().__init__(keys, allow_missing_keys)
        self.mask_key, self.residual = mask_key, LesionResidual(outer, feather, scale)

    def __call__(self, data: Mapping) -> dict:
        d = dict(data)
        mask = None if self.mask_key is None else d[self.mask_key]
        for key in self.key_iterator(d):
            d[key] = self.residual(d[key], mask, where=f"key {key!r}")
        return d


class TransplantLesiond(CopyPasteLesiond):
    """Dictionary version: as :class:`~monai_roigan.transforms.CopyPasteLesiond` (the same bank, classes, source
    classes and target distribution), with the lesion's residual added instead of its pixels pasted.

    Args:
        keys, label_key, prob, class_names, source_classes, target_distribution, allow_missing_keys: as
            :class:`~monai_roigan.transforms.CopyPasteLesiond`.
        lesions: the lesion bank: dicts with ``image`` (C, S, S), ``label`` and optional ``id`` and ``mask`` ((S, S),
            nonzero on the lesion; without it, the centred disc of :class:`TransplantLesion`). Give every lesion a
            mask or none.
        transplant_options: ``outer``, ``feather``, ``flip``, ``rotate``, ``scale_range``, ``gain_range``,
            ``warp_magnitude``, ``warp_spacing``, ``value_range``, ``residual_input`` and ``residual_scale`` of
            :class:`TransplantLesion`.

    Raises:
        ValueError: as :class:`~monai_roigan.transforms.CopyPasteLesiond`; masks on some lesions only; a mask that
            leaves no surround, naming the lesion's id; at call time, an ROI of another shape than the bank's,
            naming the key and both shapes.
    """

    paster_class = TransplantLesion

    def __init__(self, keys: KeysCollection, lesions: Sequence[Mapping], *args, **transplant_options):
        with_mask = [item.get("mask") is not None for item in lesions]
        if any(with_mask) and not all(with_mask):
            raise ValueError(f"{sum(with_mask)} of {len(lesions)} lesions have a mask: give every lesion one, or none")
        if any(with_mask):
            transplant_options["masks"] = [item["mask"] for item in lesions]
        super().__init__(keys, lesions, *args, **transplant_options)


LesionResidualD = LesionResidualDict = LesionResiduald
TransplantLesionD = TransplantLesionDict = TransplantLesiond
