"""Networks: the ROI-mammoGAN generator and discriminator (``networks.nets``)."""

from .loading import load_weights
from .nets import PRESETS, ROIDiscriminator, ROIGenerator

__all__ = ["PRESETS", "ROIDiscriminator", "ROIGenerator", "load_weights"]
