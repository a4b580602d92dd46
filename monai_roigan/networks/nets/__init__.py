from .roigan import PRESETS, ROIDiscriminator, ROIGenerator, init_dcgan_weights

__all__ = ["PRESETS", "ROIDiscriminator", "ROIGenerator", "init_dcgan_weights"]
