"""MONAI transforms of monai-roigan: array transforms ``Foo`` and dictionary twins ``Food``."""

from .breast import BreastMask, breast_mask, sample_normal_centers
from .io import LoadMammogram, LoadMammogramd, LoadMammogramD, LoadMammogramDict
from .roi import ExtractROI, ExtractROId, MaskToCenter, MaskToCenterd, crop_centered

__all__ = [
    "BreastMask",
    "ExtractROI",
    "ExtractROId",
    "LoadMammogram",
    "LoadMammogramd",
    "LoadMammogramD",
    "LoadMammogramDict",
    "MaskToCenter",
    "MaskToCenterd",
    "breast_mask",
    "crop_centered",
    "sample_normal_centers",
]
