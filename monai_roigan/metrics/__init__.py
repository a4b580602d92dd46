"""Quality measures of synthetic ROIs, all offline (nothing is downloaded).

- reference-based MSE, PSNR, SSIM, DSSIM and FSIM against the nearest or a random real ROI of the same class;
- no-reference PIQE, a domain NIQE (the pristine model fitted on real ROIs), and BRISQUE with a user-supplied
  LIVE model only;
- set-level FID, KID and improved precision/recall on a domain encoder's features, or on a user-supplied
  encoder file (e.g. the FID Inception-v3 as TorchScript);
- the geometry score (relative living times of loops, gudhi witness complexes);
- class fidelity (the share of generated ROIs that a classifier fitted on real ROIs assigns to their class),
  MS-SSIM diversity and a memorization check;
- fingerprints a classifier can learn instead of the lesion: the power at the up-sampling grid's frequencies
  (checkerboard), and intensity profiles from the edge inward (frames) and from the centre outward (rims);
- :mod:`~monai_roigan.metrics.quality_table`: the per-image and per-set tables of an evaluation report.
"""

from .brisque import BRISQUEModel, brisque, brisque_features, brisque_scores, find_brisque_model, load_brisque_model
from .distribution import domain_features, frechet_distance, kernel_distance, precision_recall
from .diversity import mean_pairwise_msssim
from .encoders import FileEncoder
from .fidelity import class_fidelity
from .fingerprints import border_profile, mean_power_spectrum, radial_profile, spectral_ratios, upsampling_frequencies
from .geometry import geometry_score, relative_living_times
from .memorization import memorization_check
from .niqe import NIQEModel, fit_niqe_model, niqe
from .piqe import piqe, piqe_maps, piqe_scores, quality_band
from .quality_table import PER_IMAGE_COLUMNS, SET_COLUMNS, compare_sets, per_image_quality
from .reference import REFERENCE_METRICS, nearest_indices, pair_metrics, reference_metrics

__all__ = [
    "BRISQUEModel",
    "FileEncoder",
    "NIQEModel",
    "PER_IMAGE_COLUMNS",
    "REFERENCE_METRICS",
    "SET_COLUMNS",
    "border_profile",
    "brisque",
    "brisque_features",
    "brisque_scores",
    "class_fidelity",
    "compare_sets",
    "domain_features",
    "find_brisque_model",
    "fit_niqe_model",
    "frechet_distance",
    "geometry_score",
    "kernel_distance",
    "load_brisque_model",
    "mean_pairwise_msssim",
    "mean_power_spectrum",
    "memorization_check",
    "nearest_indices",
    "niqe",
    "pair_metrics",
    "per_image_quality",
    "piqe",
    "piqe_maps",
    "piqe_scores",
    "precision_recall",
    "quality_band",
    "radial_profile",
    "reference_metrics",
    "relative_living_times",
    "spectral_ratios",
    "upsampling_frequencies",
]
