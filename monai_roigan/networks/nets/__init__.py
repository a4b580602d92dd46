from .per_class import ClassDispatch, PerClassDiscriminator, PerClassGenerator
from .roigan import PRESETS, ROIDiscriminator, ROIGenerator, init_dcgan_weights

__all__ = [
    "PRESETS",
    "ClassDispatch",
    "PerClassDiscriminator",
    "PerClassGenerator",
    "ROIDiscriminator",
    "ROIGenerator",
    "init_dcgan_weights",
]
