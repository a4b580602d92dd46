"""``LoadMammogram``: load one mammogram file with :class:`MammogramReader` into a MetaTensor."""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike
from pathlib import Path

import numpy as np
from monai.data import ImageReader, MetaTensor
from monai.transforms import EnsureChannelFirst, Transform
from monai.utils import ImageMetaKey, convert_to_dst_type, ensure_tuple

from monai_roigan.data.image_reader import MammogramReader
from monai_roigan.data.limits import MAX_PIXELS

__all__ = ["LoadMammogram"]


class LoadMammogram(Transform):
    """Load a PGM, DICOM, PNG or TIFF mammogram as a channel-first MetaTensor (1, H, W), float32 in [0, 1].

    Row 0 is the top of the image as displayed; dense tissue is bright (DICOM MONOCHROME1 is inverted).
    ``.meta`` holds ``source_path``, ``format``, ``bits_stored``, ``spacing`` ((row, col) in mm or
    ``"unknown"``), ``laterality``, ``view``, ``intensity_rule`` (see
    :class:`~monai_roigan.data.image_reader.MammogramReader` for the rule per format) and MONAI's
    ``filename_or_obj``, ``affine`` and ``spatial_shape``.

    It does what ``LoadImage(reader=MammogramReader(), image_only=True, ensure_channel_first=True)`` does
    (which also works), without constructing MONAI's other readers and without its reader-fallback loop, so a
    bad file raises :class:`~monai_roigan.utils.errors.MammogramReadError` naming the file and the problem.

    Args:
        voi: DICOM VOI handling: ``"none"`` (full stored range), ``"window"``, ``"lut"`` or ``"auto"``.
        window: explicit DICOM window ``(center, width)``.
        pgm_spacing: spacing in mm reported for PGM files (MIAS: 0.2).
        dtype: output dtype (default float32).
        max_pixels: refuse files whose header promises more pixels (height x width), before decoding
            (default :data:`~monai_roigan.data.limits.MAX_PIXELS`).
    """

    def __init__(
        self,
        voi: str = "none",
        window: tuple[float, float] | None = None,
        pgm_spacing: float | None = 0.2,
        dtype=np.float32,
        max_pixels: int = MAX_PIXELS,
    ):
        self.reader = MammogramReader(voi=voi, window=window, pgm_spacing=pgm_spacing, max_pixels=max_pixels)
        self.dtype = dtype
        self.channel_first = EnsureChannelFirst()

    def __call__(self, filename: Sequence[PathLike] | PathLike, reader: ImageReader | None = None) -> MetaTensor:
        filenames = tuple(str(Path(f).expanduser()) for f in ensure_tuple(filename))
        reader = reader or self.reader
        array, meta = reader.get_data(reader.read(filenames))
        array = convert_to_dst_type(array, dst=array, dtype=self.dtype)[0]
        meta[ImageMetaKey.FILENAME_OR_OBJ] = filenames[0]
        image = MetaTensor.ensure_torch_and_prune_meta(array, meta)
        return self.channel_first(image, meta_dict=meta)
