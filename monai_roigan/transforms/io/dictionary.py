"""``LoadMammogramd``: dictionary twin of :class:`~monai_roigan.transforms.io.array.LoadMammogram`."""

from __future__ import annotations

import numpy as np
from monai.config import KeysCollection
from monai.transforms import LoadImaged

from monai_roigan.transforms.io.array import LoadMammogram

__all__ = ["LoadMammogramd", "LoadMammogramD", "LoadMammogramDict"]


class LoadMammogramd(LoadImaged):
    """Load the files named under ``keys`` with :class:`LoadMammogram`; each becomes a (1, H, W) MetaTensor.

    Args:
        keys: keys of the file paths to load (e.g. ``"image"``).
        voi, window, pgm_spacing, dtype: as for :class:`LoadMammogram`.
        allow_missing_keys: skip keys that are absent.
        kwargs: other :class:`~monai.transforms.LoadImaged` options.
    """

    def __init__(
        self,
        keys: KeysCollection,
        voi: str = "none",
        window: tuple[float, float] | None = None,
        pgm_spacing: float | None = 0.2,
        dtype=np.float32,
        allow_missing_keys: bool = False,
        **kwargs,
    ):
        kwargs.setdefault("image_only", True)
        kwargs.setdefault("ensure_channel_first", True)
        super().__init__(keys, dtype=dtype, allow_missing_keys=allow_missing_keys, **kwargs)
        self._loader = LoadMammogram(voi=voi, window=window, pgm_spacing=pgm_spacing, dtype=dtype, **kwargs)


LoadMammogramD = LoadMammogramDict = LoadMammogramd
