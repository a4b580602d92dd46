"""Size limits applied by every image reader before it allocates a pixel buffer.

A damaged or hostile header can promise any image size. Each reader compares the size its header promises
with :data:`MAX_PIXELS` (and, where the format allows, with the bytes actually present) *before* a decoder
allocates the output, so a lying header costs an error message, never gigabytes of memory.
"""

from __future__ import annotations

from monai_roigan.utils.errors import MammogramReadError

__all__ = ["MAX_PIXELS", "check_image_size"]

#: Default cap on height x width: 2**27, about 134 megapixels. The largest digital mammograms are near 25
#: megapixels and scanned films (CBIS-DDSM) near 13, so only damaged headers reach it.
MAX_PIXELS = 2**27


def check_image_size(path: str, height: int, width: int, max_pixels: int = MAX_PIXELS) -> None:
    """Raise :class:`MammogramReadError` unless ``0 < height``, ``0 < width`` and ``height * width <= max_pixels``."""
    if height <= 0 or width <= 0 or height * width > max_pixels:
        raise MammogramReadError(path, f"implausible image size {height}x{width} (limit {max_pixels} pixels)")
