"""``LoadMammogramd``: dictionary twin of :class:`~monai_roigan.transforms.io.array.LoadMammogram`."""

from __future__ import annotations

from collections.abc import Hashable, Mapping

import numpy as np
from monai.config import KeysCollection
from monai.transforms import MapTransform

from monai_roigan.data.limits import MAX_PIXELS
from monai_roigan.transforms.io.array import LoadMammogram

__all__ = ["LoadMammogramd", "LoadMammogramD", "LoadMammogramDict"]


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
