from .per_class import ClassDispatch, PerClassDiscriminator, PerClassGenerator
from .roi_classifier import ROIClassifier
from .roigan import PRESETS, ROIDiscriminator, ROIGenerator, init_dcgan_weights

__all__ = [
    "PRESETS",
    "ClassDispatch",
    "PerClassDiscriminator",
    "PerClassGenerator",
    "ROIClassifier",
    "ROIDiscriminator",
    "ROIGenerator",
    "init_dcgan_weights",
]
