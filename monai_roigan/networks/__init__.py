"""Networks: the ROI-mammoGAN generator and discriminator, conditional or per class (``networks.nets``)."""

from .inference import fold_batch_norms, inference_network
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
    "fold_batch_norms",
    "generator_from_state",
    "inference_network",
    "load_generator",
    "load_weights",
]
