"""``LoadMammogram``: a :class:`~monai.transforms.LoadImage` bound to :class:`MammogramReader`."""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike

import numpy as np
from monai.data import ImageReader, MetaTensor
from monai.transforms import LoadImage

from monai_roigan.data.image_reader import MammogramReader

__all__ = ["LoadMammogram"]


class LoadMammogram(LoadImage):
    """Load a PGM, DICOM, PNG or TIFF mammogram as a channel-first MetaTensor (1, H, W), float32 in [0, 1].

    Row 0 is the top of the image as displayed; dense tissue is bright (DICOM MONOCHROME1 is inverted).
    ``.meta`` holds ``source_path``, ``format``, ``bits_stored``, ``spacing`` ((row, col) in mm or
    ``"unknown"``), ``laterality``, ``view`` and ``intensity_rule`` (see
    :class:`~monai_roigan.data.image_reader.MammogramReader` for the rule per format).

    Unlike a plain ``LoadImage(reader=...)``, errors are not swallowed by a reader-fallback loop: a bad file
    raises :class:`~monai_roigan.utils.errors.MammogramReadError` naming the file and the problem.

    Args:
        voi: DICOM VOI handling: ``"none"`` (full stored range), ``"window"``, ``"lut"`` or ``"auto"``.
        window: explicit DICOM window ``(center, width)``.
        pgm_spacing: spacing in mm reported for PGM files (MIAS: 0.2).
        dtype: output dtype (default float32).
        kwargs: other :class:`~monai.transforms.LoadImage` options (``simple_keys``, ``prune_meta_pattern``...).
    """

    def __init__(
        self,
        voi: str = "none",
        window: tuple[float, float] | None = None,
        pgm_spacing: float | None = 0.2,
        dtype=np.float32,
        **kwargs,
    ):
        self.mammogram_reader = MammogramReader(voi=voi, window=window, pgm_spacing=pgm_spacing)
        kwargs.setdefault("image_only", True)
        kwargs.setdefault("ensure_channel_first", True)
        super().__init__(reader=self.mammogram_reader, dtype=dtype, **kwargs)

    def __call__(self, filename: Sequence[PathLike] | PathLike, reader: ImageReader | None = None) -> MetaTensor:
        return super().__call__(filename, reader=reader or self.mammogram_reader)
