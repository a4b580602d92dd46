from .array import ExtractROI, MaskToCenter, crop_centered, roi_window_size
from .dictionary import PROVENANCE_KEYS, ExtractROId, MaskToCenterd

__all__ = ["ExtractROI", "ExtractROId", "MaskToCenter", "MaskToCenterd", "PROVENANCE_KEYS", "crop_centered", "roi_window_size"]
