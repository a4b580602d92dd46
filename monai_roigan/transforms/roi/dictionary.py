"""Dictionary twins of the ROI transforms: :class:`ExtractROId` and :class:`MaskToCenterd`."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

from monai.config import KeysCollection
from monai.transforms import MapTransform

from monai_roigan.transforms.io.array import LoadMammogram
from monai_roigan.transforms.roi.array import ExtractROI, MaskToCenter

__all__ = [
    "ExtractROId",
    "ExtractROID",
    "ExtractROIDict",
    "MaskToCenterd",
    "MaskToCenterD",
    "MaskToCenterDict",
    "ENTRY_META_KEYS",
]

#: datalist fields copied into each ROI's meta, when present
ENTRY_META_KEYS = (
    "class_name",
    "label",
    "abnormality",
    "severity",
    "refnum",
    "patient_id",
    "laterality",
    "view",
    "dataset",
)


class ExtractROId(MapTransform):
    """Replace the mammogram under ``keys`` by its lesion-centred ROI (see :class:`ExtractROI`).

    The centre is read from ``center_key`` ((row, col), top-left pixels) and the radius from ``radius_key``.
    The ROI's meta keeps its provenance: ``source_path`` of the mammogram, ``roi_center``, ``roi_window``,
    ``roi_spacing`` (mm per ROI pixel) and the ``provenance_keys`` found in the dictionary (class name,
    label, ...). A missing centre raises ``ValueError``; datasets skip such rows before this transform (see
    :func:`~monai_roigan.apps.prepare_roi_dataset`), never guess them.

    Args:
        keys: image key(s), e.g. ``"image"``.
        center_key, radius_key: keys of the centre and radius.
        provenance_keys: dictionary fields copied into the ROI's meta.
        kwargs: :class:`ExtractROI` options (``roi_size``, ``output_size``, ``median_radius``, ``adaptive``...).
    """

    def __init__(
        self,
        keys: KeysCollection = "image",
        center_key: str = "center",
        radius_key: str = "radius",
        provenance_keys: Sequence[str] = ENTRY_META_KEYS,
        allow_missing_keys: bool = False,
        **kwargs,
    ):
        super().__init__(keys, allow_missing_keys)
        self.extractor = ExtractROI(**kwargs)
        self.center_key, self.radius_key = center_key, radius_key
        self.provenance_keys = tuple(provenance_keys)

    def __call__(self, data: Mapping[Hashable, object]) -> dict:
        d = dict(data)
        provenance = {k: d[k] for k in self.provenance_keys if d.get(k) is not None}
        for key in self.key_iterator(d):
            roi = self.extractor(d[key], d.get(self.center_key), d.get(self.radius_key))
            roi.meta.update(provenance)
            d[key] = roi
        return d


class MaskToCenterd(MapTransform):
    """Fill ``center_key``/``radius_key`` from a binary lesion mask under ``keys`` (a path or an array).

    Entries whose mask is None keep ``center=None`` (and are skipped, with a count, by ROI preparation).
    An existing centre is kept unless ``overwrite=True``. The mask is mapped onto the pixel grid of
    ``image_key`` when the image is already loaded.
    """

    def __init__(
        self,
        keys: KeysCollection = "mask",
        image_key: str = "image",
        center_key: str = "center",
        radius_key: str = "radius",
        overwrite: bool = False,
        allow_missing_keys: bool = True,
    ):
        super().__init__(keys, allow_missing_keys)
        self.image_key = image_key
        self.center_key = center_key
        self.radius_key = radius_key
        self.overwrite = overwrite
        self.loader = LoadMammogram()
        self.to_center = MaskToCenter()

    def __call__(self, data: Mapping[Hashable, object]) -> dict:
        d = dict(data)
        for key in self.key_iterator(d):
            if d[key] is None or (d.get(self.center_key) is not None and not self.overwrite):
                continue
            mask = self.loader(d[key]) if isinstance(d[key], str) else d[key]
            image = d.get(self.image_key)
            shape = tuple(image.shape) if hasattr(image, "shape") else None
            center, radius = self.to_center(mask, shape)
            d[self.center_key], d[self.radius_key] = list(center), radius
        return d


ExtractROID = ExtractROIDict = ExtractROId
MaskToCenterD = MaskToCenterDict = MaskToCenterd
