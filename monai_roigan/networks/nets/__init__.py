from .context import ContextROIGenerator, check_context_mask, disc_mask
from .per_class import ClassDispatch, PerClassDiscriminator, PerClassGenerator
from .roi_classifier import ROIClassifier
from .roigan import PRESETS, ROIDiscriminator, ROIGenerator, init_dcgan_weights

__all__ = [
    "PRESETS",
    "ClassDispatch",
    "ContextROIGenerator",
    "PerClassDiscriminator",
    "PerClassGenerator",
    "ROIClassifier",
    "ROIDiscriminator",
    "ROIGenerator",
    "check_context_mask",
    "disc_mask",
    "init_dcgan_weights",
]
