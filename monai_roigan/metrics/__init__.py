"""Quality measures of synthetic ROIs, all offline (nothing is downloaded).

- class fidelity (a classifier trained on real ROIs) and MS-SSIM diversity;
- reference-based MSE, PSNR, SSIM and DSSIM against the nearest or a random real ROI of the same class;
- set-level FID, KID and improved precision/recall on a domain encoder's features;
- the geometry score (relative living times of loops, gudhi witness complexes);
- a domain NIQE (the pristine model fitted on real ROIs);
- a memorization check against held-out real ROIs.
"""

from .distribution import domain_features, frechet_distance, kernel_distance, precision_recall
from .diversity import mean_pairwise_msssim
from .geometry import geometry_score, relative_living_times
from .memorization import memorization_check
from .niqe import NIQEModel, fit_niqe_model, niqe
from .reference import REFERENCE_METRICS, nearest_indices, pair_metrics, reference_metrics
from .roi_classifier import ROIClassifier, class_fidelity, train_roi_classifier

__all__ = [
    "NIQEModel",
    "REFERENCE_METRICS",
    "ROIClassifier",
    "class_fidelity",
    "domain_features",
    "fit_niqe_model",
    "frechet_distance",
    "geometry_score",
    "kernel_distance",
    "mean_pairwise_msssim",
    "memorization_check",
    "nearest_indices",
    "niqe",
    "pair_metrics",
    "precision_recall",
    "reference_metrics",
    "relative_living_times",
    "train_roi_classifier",
]
