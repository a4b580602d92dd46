from .array import ExtractROI, MaskToCenter, crop_centered, roi_window_size
from .dictionary import (
    ENTRY_META_KEYS,
    ExtractROID,
    ExtractROId,
    ExtractROIDict,
    MaskToCenterD,
    MaskToCenterd,
    MaskToCenterDict,
)

__all__ = [
    "ExtractROI",
    "ExtractROId",
    "ExtractROID",
    "ExtractROIDict",
    "MaskToCenter",
    "MaskToCenterd",
    "MaskToCenterD",
    "MaskToCenterDict",
    "ENTRY_META_KEYS",
    "crop_centered",
    "roi_window_size",
]
