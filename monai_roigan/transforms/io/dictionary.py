"""Dictionary twins of :class:`~monai_roigan.transforms.io.array.LoadMammogram` and ``SaveSyntheticDICOM``."""

from __future__ import annotations

from collections.abc import Hashable, Mapping

import numpy as np
from monai.config import KeysCollection
from monai.transforms import MapTransform

from monai_roigan.data.limits import MAX_PIXELS
from monai_roigan.transforms.io.array import LoadMammogram, SaveSyntheticDICOM

__all__ = [
    "LoadMammogramd",
    "LoadMammogramD",
    "LoadMammogramDict",
    "SaveSyntheticDICOMd",
    "SaveSyntheticDICOMD",
    "SaveSyntheticDICOMDict",
]


class LoadMammogramd(MapTransform):
    """Load the files named under ``keys`` with :class:`LoadMammogram`; each becomes a (1, H, W) MetaTensor.

    Args:
        keys: keys of the file paths to load (e.g. ``"image"``).
        voi, window, pgm_spacing, dtype, max_pixels: as for :class:`LoadMammogram`.
        allow_missing_keys: skip keys that are absent.
    """

    def __init__(
        self,
        keys: KeysCollection,
        voi: str = "none",
        window: tuple[float, float] | None = None,
        pgm_spacing: float | None = 0.2,
        dtype=np.float32,
        allow_missing_keys: bool = False,
        max_pixels: int = MAX_PIXELS,
    ):
        super().__init__(keys, allow_missing_keys)
        self.loader = LoadMammogram(voi=voi, window=window, pgm_spacing=pgm_spacing, dtype=dtype, max_pixels=max_pixels)

    def __call__(self, data: Mapping[Hashable, object]) -> dict:
        d = dict(data)
        for key in self.key_iterator(d):
            d[key] = self.loader(d[key])
        return d


LoadMammogramD = LoadMammogramDict = LoadMammogramd


class SaveSyntheticDICOMd(MapTransform):
    """Write the synthetic ROIs under ``keys`` with :class:`SaveSyntheticDICOM`.

    Samples whose image is real (``synthetic`` not True, e.g. the ones ``SyntheticROIAugmentd`` left alone) are
    skipped when ``skip_real`` (default) and refused otherwise.

    Args:
        keys: keys of the ROIs to write.
        output_dir, spacing_mm, uid_prefix: as for :class:`SaveSyntheticDICOM`.
        skip_real: pass real images through unwritten instead of raising.
        allow_missing_keys: skip keys that are absent.
    """

    def __init__(
        self,
        keys: KeysCollection,
        output_dir,
        spacing_mm: float = 0.4,
        uid_prefix: str | None = None,
        skip_real: bool = True,
        allow_missing_keys: bool = False,
    ):
        super().__init__(keys, allow_missing_keys)
        self.saver = SaveSyntheticDICOM(output_dir=output_dir, spacing_mm=spacing_mm, uid_prefix=uid_prefix)
        self.skip_real = skip_real

    def __call__(self, data: Mapping[Hashable, object]) -> dict:
        d = dict(data)
        for key in self.key_iterator(d):
            if self.skip_real and getattr(d[key], "meta", {}).get("synthetic") is not True:
                continue
            d[key] = self.saver(d[key])
        return d


SaveSyntheticDICOMD = SaveSyntheticDICOMDict = SaveSyntheticDICOMd
