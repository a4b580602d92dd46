"""MONAI transforms of monai-roigan: array transforms ``Foo`` and dictionary twins ``Food``."""

from .breast import BreastMask, breast_mask, sample_normal_centers
from .copy_paste import CopyPasteLesion, CopyPasteLesiond, blend_mask
from .insertion import InsertSyntheticLesion, InsertSyntheticLesiond
from .io import (
    LoadMammogram,
    LoadMammogramD,
    LoadMammogramd,
    LoadMammogramDict,
    SaveSyntheticDICOM,
    SaveSyntheticDICOMd,
)
from .labels import ClassLabels
from .roi import ExtractROI, ExtractROId, MaskToCenter, MaskToCenterd, crop_centered
from .synthetic import (
    DEFAULT_POOL_SIZE,
    ROIBank,
    SampleFilter,
    SyntheticROIAugment,
    SyntheticROIAugmentd,
    balancing_distribution,
)

__all__ = [
    "DEFAULT_POOL_SIZE",
    "BreastMask",
    "ClassLabels",
    "CopyPasteLesion",
    "CopyPasteLesiond",
    "ExtractROI",
    "ExtractROId",
    "InsertSyntheticLesion",
    "InsertSyntheticLesiond",
    "LoadMammogram",
    "LoadMammogramd",
    "LoadMammogramD",
    "LoadMammogramDict",
    "MaskToCenter",
    "MaskToCenterd",
    "ROIBank",
    "SampleFilter",
    "SaveSyntheticDICOM",
    "SaveSyntheticDICOMd",
    "SyntheticROIAugment",
    "SyntheticROIAugmentd",
    "balancing_distribution",
    "blend_mask",
    "breast_mask",
    "crop_centered",
    "sample_normal_centers",
]
