"""MONAI transforms of monai-roigan: array transforms ``Foo`` and dictionary twins ``Food`` (aliases ``FooD``,
``FooDict``), one topic folder each (``array.py``, ``dictionary.py``), as in MONAI. ``blending`` holds what
copy-paste and insertion share: blend masks and blend modes.

``ROIBank``, ``SampleFilter`` and ``DEFAULT_POOL_SIZE`` live in :mod:`monai_roigan.networks.pool` and are
re-exported here.
"""

from monai_roigan.networks.pool import DEFAULT_POOL_SIZE, ROIBank, SampleFilter

from .blending import BLEND_MODES, MASK_SHAPES, SEAMLESS_BLEND_MODES, random_soft_mask
from .breast import BreastMask, breast_mask, sample_normal_centers
from .copy_paste import CopyPasteLesion, CopyPasteLesionD, CopyPasteLesiond, CopyPasteLesionDict, blend_mask
from .counterpart import (
    COUNTERPART_OUTPUTS,
    NormalCounterpart,
    NormalCounterpartD,
    NormalCounterpartd,
    NormalCounterpartDict,
)
from .insertion import InsertSyntheticLesion, InsertSyntheticLesionD, InsertSyntheticLesiond, InsertSyntheticLesionDict
from .io import (
    LoadMammogram,
    LoadMammogramD,
    LoadMammogramd,
    LoadMammogramDict,
    SaveSyntheticDICOM,
    SaveSyntheticDICOMD,
    SaveSyntheticDICOMd,
    SaveSyntheticDICOMDict,
)
from .labels import ClassLabels
from .roi import (
    ExtractROI,
    ExtractROID,
    ExtractROId,
    ExtractROIDict,
    MaskToCenter,
    MaskToCenterD,
    MaskToCenterd,
    MaskToCenterDict,
    crop_centered,
)
from .synthetic import (
    SyntheticROIAugment,
    SyntheticROIAugmentD,
    SyntheticROIAugmentd,
    SyntheticROIAugmentDict,
    balancing_distribution,
)
from .transplant import (
    LesionResidual,
    LesionResidualD,
    LesionResiduald,
    LesionResidualDict,
    TransplantLesion,
    TransplantLesionD,
    TransplantLesiond,
    TransplantLesionDict,
    lesion_residual,
)

__all__ = [
    "BLEND_MODES",
    "COUNTERPART_OUTPUTS",
    "DEFAULT_POOL_SIZE",
    "MASK_SHAPES",
    "SEAMLESS_BLEND_MODES",
    "BreastMask",
    "ClassLabels",
    "CopyPasteLesion",
    "CopyPasteLesiond",
    "CopyPasteLesionD",
    "CopyPasteLesionDict",
    "ExtractROI",
    "ExtractROId",
    "ExtractROID",
    "ExtractROIDict",
    "InsertSyntheticLesion",
    "InsertSyntheticLesiond",
    "InsertSyntheticLesionD",
    "InsertSyntheticLesionDict",
    "LesionResidual",
    "LesionResiduald",
    "LesionResidualD",
    "LesionResidualDict",
    "LoadMammogram",
    "LoadMammogramd",
    "LoadMammogramD",
    "LoadMammogramDict",
    "TransplantLesion",
    "TransplantLesiond",
    "TransplantLesionD",
    "TransplantLesionDict",
    "lesion_residual",
    "MaskToCenter",
    "MaskToCenterd",
    "MaskToCenterD",
    "MaskToCenterDict",
    "NormalCounterpart",
    "NormalCounterpartd",
    "NormalCounterpartD",
    "NormalCounterpartDict",
    "ROIBank",
    "SampleFilter",
    "SaveSyntheticDICOM",
    "SaveSyntheticDICOMd",
    "SaveSyntheticDICOMD",
    "SaveSyntheticDICOMDict",
    "SyntheticROIAugment",
    "SyntheticROIAugmentd",
    "SyntheticROIAugmentD",
    "SyntheticROIAugmentDict",
    "balancing_distribution",
    "blend_mask",
    "breast_mask",
    "crop_centered",
    "random_soft_mask",
    "sample_normal_centers",
]
