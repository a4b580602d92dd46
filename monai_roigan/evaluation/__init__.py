"""Judging a trained generator: its evaluation report (``evaluate``, ``report``), the downstream classifier
experiment (``downstream``) and the real ROIs both use (``data``). The top layer: nothing imports it."""

from .data import ROISet, evaluation_rois
from .downstream import ARMS, classic_augmentation, fold_scores, interval, run_downstream, train_arm_classifier
from .evaluate import evaluate_generator, matched_subset, noise_like
from .report import write_report

__all__ = [
    "ARMS",
    "ROISet",
    "classic_augmentation",
    "evaluate_generator",
    "evaluation_rois",
    "fold_scores",
    "interval",
    "matched_subset",
    "noise_like",
    "run_downstream",
    "train_arm_classifier",
    "write_report",
]
