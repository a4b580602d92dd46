"""Workflows that combine the layers below (as ``monai.apps`` does): ROI preparation and its command, the GAN's
training data, the pre-flight checks of a training run and of the bundle's overlay configs, generation (in
memory and to files), the class-balanced dataset, the sample filter that keeps only synthetic ROIs a
real-trained classifier recognises, tissue pretraining (learn tissue first, then lesions), the context bank of
the lesion in-filling generator, the tissue in-filler's women (and their record), and generators of one recipe
trained with other seeds.

Nothing below ``apps`` imports it; ``evaluation`` (above) does.
"""

from .bundle_config import check_overlay
from .context import context_bank
from .counterpart import counterpart_datalist, counterpart_women, load_counterpart_women, women_record_path
from .generation import OUTPUT_FORMATS, as_formats, generate, generate_rois
from .generator_seeds import seed_generators
from .preflight import check_training_options, check_training_setup
from .prepare import prepare_roi_dataset
from .pretraining import run_pretraining, tissue_datalist, transfer_pretrained
from .sample_filter import ConfidenceFilter, RealismFilter, check_keep_fraction, check_min_confidence
from .synthetic_dataset import SyntheticBalancedDataset
from .training_data import training_datalist, training_rois

__all__ = [
    "ConfidenceFilter",
    "RealismFilter",
    "OUTPUT_FORMATS",
    "SyntheticBalancedDataset",
    "as_formats",
    "check_keep_fraction",
    "check_min_confidence",
    "check_overlay",
    "check_training_options",
    "check_training_setup",
    "context_bank",
    "counterpart_datalist",
    "counterpart_women",
    "generate",
    "generate_rois",
    "load_counterpart_women",
    "prepare_roi_dataset",
    "run_pretraining",
    "seed_generators",
    "tissue_datalist",
    "training_datalist",
    "training_rois",
    "transfer_pretrained",
    "women_record_path",
]
