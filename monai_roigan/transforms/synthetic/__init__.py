"""The trained generator as a MONAI random transform: :class:`SyntheticROIAugment` (``array``) and its dictionary
twin :class:`SyntheticROIAugmentd` (``dictionary``).

The pool the transform draws from and the filter loop that fills it live in :mod:`monai_roigan.networks.pool`; they
are re-exported here so that ``from monai_roigan.transforms.synthetic import ROIBank, accepted_candidates`` keeps
working.
"""

from monai_roigan.networks.pool import (
    DEFAULT_POOL_SIZE,
    AcceptedCandidates,
    ROIBank,
    SampleFilter,
    accepted_candidates,
    check_pool_size,
)

from .array import SOURCE_IMAGE_KEYS, SyntheticROIAugment, check_share, check_single_roi, mark_real, synthetic_meta
from .dictionary import (
    SyntheticROIAugmentD,
    SyntheticROIAugmentd,
    SyntheticROIAugmentDict,
    balancing_distribution,
    check_class_map,
    target_classes,
)

__all__ = [
    "SyntheticROIAugment",
    "SyntheticROIAugmentd",
    "SyntheticROIAugmentD",
    "SyntheticROIAugmentDict",
    "ROIBank",
    "SampleFilter",
    "SOURCE_IMAGE_KEYS",
    "DEFAULT_POOL_SIZE",
    "AcceptedCandidates",
    "accepted_candidates",
    "balancing_distribution",
    "check_class_map",
    "check_pool_size",
    "check_share",
    "check_single_roi",
    "mark_real",
    "synthetic_meta",
    "target_classes",
]
