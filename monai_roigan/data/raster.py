"""8- and 16-bit grayscale PNG and TIFF mammograms (exports from viewers, pre-processed datasets).

Intensity rule: ``value / (2**bits - 1)`` with ``bits`` 8 or 16 taken from the file's sample type, so the
result is in [0, 1] and never rescaled by the image's own min/max. Colour files are accepted only when all
channels are equal (a grey image saved as RGB); anything else is an error rather than a silent conversion.
"""

from __future__ import annotations

import os
import struct
from os import PathLike

import numpy as np
import tifffile
from PIL import Image, UnidentifiedImageError

from monai_roigan.data.limits import MAX_PIXELS, check_image_size
from monai_roigan.utils.errors import MammogramReadError

__all__ = ["read_raster"]


def _as_gray(array: np.ndarray, path: str) -> np.ndarray:
    if array.ndim == 3 and array.shape[-1] in (3, 4):
        rgb = array[..., :3]
        if not (np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 0], rgb[..., 2])):
            raise MammogramReadError(path, "colour image: a mammogram must be grayscale")
        array = rgb[..., 0]
    if array.ndim != 2:
        raise MammogramReadError(path, f"expected a 2-D grayscale image, got shape {array.shape}")
    return array


def _bits(array: np.ndarray, path: str) -> int:
    if array.dtype == np.uint8:
        return 8
    if array.dtype == np.uint16 or (array.dtype.kind in "iu" and array.min() >= 0 and array.max() <= 65535):
        return 16
    raise MammogramReadError(path, f"unsupported sample type {array.dtype}; expected 8- or 16-bit unsigned")


#: What Pillow and tifffile raise on damaged files (tifffile parses tags lazily, so any access can).
_DECODE_ERRORS = (
    UnidentifiedImageError,
    Image.DecompressionBombError,
    tifffile.TiffFileError,
    OSError,
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    ZeroDivisionError,
    OverflowError,
    NotImplementedError,
    SyntaxError,
    struct.error,
)


def _load(path: str, suffix: str, max_pixels: int) -> np.ndarray:
    try:
        if suffix in (".tif", ".tiff"):
            with tifffile.TiffFile(path) as tif:
                page = tif.pages.first
                check_image_size(path, int(page.imagelength), int(page.imagewidth), max_pixels)
                return page.asarray()
        with Image.open(path) as img:
            check_image_size(path, img.height, img.width, max_pixels)
            img.load()
            return np.asarray(img)
    except _DECODE_ERRORS as err:
        raise MammogramReadError(path, f"cannot decode image ({type(err).__name__}: {err})") from None


def read_raster(path: str | PathLike, max_pixels: int = MAX_PIXELS) -> tuple[np.ndarray, dict]:
    """Read a PNG or TIFF mammogram.

    Args:
        path: file.
        max_pixels: refuse images whose header promises more pixels, before decoding.

    Returns:
        ``(array, meta)``: float32 (H, W) in [0, 1], row 0 at the top; meta with ``format`` and ``bits_stored``.
    """
    path = os.fspath(path)
    suffix = os.path.splitext(path)[1].lower()
    array = _as_gray(_load(path, suffix, max_pixels), path)
    bits = _bits(array, path)
    image = array.astype(np.float32) / float((1 << bits) - 1)
    fmt = "TIFF" if suffix in (".tif", ".tiff") else "PNG"
    return image, {"format": fmt, "bits_stored": bits, "spacing": None, "intensity_rule": f"value / {(1 << bits) - 1}"}
