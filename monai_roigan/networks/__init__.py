"""Networks: the ROI-mammoGAN generator and discriminator, conditional or per class (``networks.nets``)."""

from .loading import generator_from_state, load_generator, load_weights
from .source import GeneratorSource, describe_weights
from .nets import PRESETS, PerClassDiscriminator, PerClassGenerator, ROIDiscriminator, ROIGenerator

__all__ = [
    "GeneratorSource",
    "PRESETS",
    "PerClassDiscriminator",
    "PerClassGenerator",
    "ROIDiscriminator",
    "ROIGenerator",
    "describe_weights",
    "generator_from_state",
    "load_generator",
    "load_weights",
]
