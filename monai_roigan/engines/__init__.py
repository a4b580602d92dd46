"""Training engines: the class-conditional GAN trainer, its regularisers and its pre-flight checks."""

from .regularizers import DIFFAUGMENT_POLICIES, DiffAugment, make_ema, r1_penalty, update_ema
from .generation import OUTPUT_FORMATS, generate_rois, latent_for, synthesize
from .trainer import SCALAR_KEYS, ROIGanTrainer, sample_latent
from .preflight import check_training_options, check_training_setup

__all__ = [
    "DIFFAUGMENT_POLICIES",
    "DiffAugment",
    "OUTPUT_FORMATS",
    "ROIGanTrainer",
    "SCALAR_KEYS",
    "check_training_options",
    "check_training_setup",
    "generate_rois",
    "latent_for",
    "make_ema",
    "r1_penalty",
    "sample_latent",
    "synthesize",
    "update_ema",
]
