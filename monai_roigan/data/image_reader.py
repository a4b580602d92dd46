"""A MONAI :class:`~monai.data.ImageReader` for mammograms: PGM (MIAS), DICOM, PNG and TIFF.

The format is chosen from the file's magic bytes, not its name (hospital DICOM often has no suffix).
Arrays are (H, W) float32 in [0, 1], **row 0 at the top of the image as displayed** — unlike MONAI's ITK and
PIL readers, which return (W, H). Intensity rules per format:

- PGM: ``value / maxval`` (MIAS: 8-bit, maxval 255). PGM carries no spacing; ``pgm_spacing`` (default
  0.2 mm, MIAS's 200 micron pixel edge) is reported, or ``None`` when set so.
- DICOM: see :mod:`monai_roigan.data.dicom` (BitsStored, Modality LUT, optional VOI, MONOCHROME1 inverted).
- PNG/TIFF: ``value / (2**bits - 1)`` for 8- or 16-bit samples.

Metadata per image: ``format``, ``bits_stored``, ``spacing`` ((row, col) mm or None), ``laterality``,
``view``, ``intensity_rule``, ``spatial_shape`` (H, W), ``affine`` (3x3, diagonal pixel spacing in mm when
known) and ``original_channel_dim="no_channel"`` so :class:`~monai.transforms.EnsureChannelFirst` adds the
channel axis.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from os import PathLike

import numpy as np
from monai.data import ImageReader
from monai.utils import ensure_tuple

from monai_roigan.data.dicom import read_dicom_mammogram
from monai_roigan.data.limits import MAX_PIXELS
from monai_roigan.data.pgm import PGM_MAGICS, read_pgm
from monai_roigan.data.raster import read_raster
from monai_roigan.utils.errors import MammogramReadError

__all__ = ["MammogramReader", "MAMMOGRAM_SUFFIXES", "sniff_format"]

MAMMOGRAM_SUFFIXES = (".pgm", ".dcm", ".dicom", ".png", ".tif", ".tiff", "")


def sniff_format(path: str | PathLike) -> str:
    """``"PGM"``, ``"DICOM"``, ``"PNG"`` or ``"TIFF"`` from the first bytes of the file."""
    path = os.fspath(path)
    with open(path, "rb") as f:
        head = f.read(132)
    if head[:2] in PGM_MAGICS:
        return "PGM"
    if head[128:132] == b"DICM":
        return "DICOM"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "PNG"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "TIFF"
    if not head:
        raise MammogramReadError(path, "empty file")
    raise MammogramReadError(path, "unknown image format (not PGM, DICOM with preamble, PNG or TIFF)")


class MammogramReader(ImageReader):
    """Read one mammogram per file into a (H, W) float32 array in [0, 1] plus metadata.

    Args:
        voi: DICOM VOI handling, ``"none"`` (default), ``"window"``, ``"lut"`` or ``"auto"``.
        window: explicit DICOM window ``(center, width)`` in Modality-LUT units.
        pgm_spacing: pixel spacing in mm reported for PGM files (default 0.2, MIAS); ``None`` for unknown.
        max_pixels: refuse files whose header promises more pixels (height x width), before decoding.
    """

    def __init__(
        self,
        voi: str = "none",
        window: tuple[float, float] | None = None,
        pgm_spacing: float | None = 0.2,
        max_pixels: int = MAX_PIXELS,
    ):
        super().__init__()
        self.voi = voi
        self.window = window
        self.pgm_spacing = pgm_spacing
        self.max_pixels = max_pixels

    def verify_suffix(self, filename: Sequence[PathLike] | PathLike) -> bool:
        return all(os.path.splitext(os.fspath(f))[1].lower() in MAMMOGRAM_SUFFIXES for f in ensure_tuple(filename))

    def read(self, data: Sequence[PathLike] | PathLike, **kwargs) -> list[tuple[np.ndarray, dict]]:
        return [self._read_one(os.fspath(f)) for f in ensure_tuple(data)]

    def _read_one(self, path: str) -> tuple[np.ndarray, dict]:
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{path}: no such mammogram file")
        fmt = sniff_format(path)
        if fmt == "DICOM":
            image, meta = read_dicom_mammogram(path, voi=self.voi, window=self.window, max_pixels=self.max_pixels)
        elif fmt == "PGM":
            raw, maxval = read_pgm(path, self.max_pixels)
            image = raw.astype(np.float32) / float(maxval)
            spacing = None if self.pgm_spacing is None else (self.pgm_spacing, self.pgm_spacing)
            bits = int(maxval).bit_length()
            meta = {"format": "PGM", "bits_stored": bits, "spacing": spacing, "intensity_rule": f"value / {maxval}"}
        else:
            image, meta = read_raster(path, self.max_pixels)
        meta.setdefault("laterality", None)
        meta.setdefault("view", None)
        meta["source_path"] = path
        return image, meta

    def get_data(self, img: list[tuple[np.ndarray, dict]]) -> tuple[np.ndarray, dict]:
        images = [i for i, _ in img]
        meta = dict(img[0][1])
        spacing = meta.get("spacing") or (1.0, 1.0)
        meta["affine"] = np.diag([float(spacing[0]), float(spacing[1]), 1.0])
        meta["spatial_shape"] = np.asarray(images[0].shape)
        if len(images) == 1:
            meta["original_channel_dim"] = "no_channel"
            return images[0], _none_to_text(meta)
        if any(i.shape != images[0].shape for i in images):
            raise MammogramReadError(meta["source_path"], "files stacked as channels differ in shape")
        meta["original_channel_dim"] = 0
        return np.stack(images), _none_to_text(meta)


def _none_to_text(meta: dict) -> dict:
    """MONAI's collate cannot batch ``None``; unknown values are stored as the string ``"unknown"``."""
    return {k: ("unknown" if v is None else v) for k, v in meta.items()}
