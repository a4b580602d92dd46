from .array import ExtractROI, MaskToCenter, crop_centered, roi_window_size
from .dictionary import ENTRY_META_KEYS, ExtractROId, MaskToCenterd

__all__ = [
    "ExtractROI",
    "ExtractROId",
    "MaskToCenter",
    "MaskToCenterd",
    "ENTRY_META_KEYS",
    "crop_centered",
    "roi_window_size",
]
