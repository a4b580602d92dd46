"""Quality measures of generated ROIs: class fidelity (a classifier trained on real ROIs) and diversity."""

from .diversity import mean_pairwise_msssim
from .roi_classifier import ROIClassifier, class_fidelity, train_roi_classifier

__all__ = ["ROIClassifier", "class_fidelity", "mean_pairwise_msssim", "train_roi_classifier"]
