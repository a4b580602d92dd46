"""Judging a trained generator: its evaluation report (``evaluate``, ``report``), the downstream classifier
experiment (``downstream``, its arms in ``arms``) and the real ROIs both use (``data``). The top layer: nothing
imports it."""

from .arms import ARMS, NON_SYNTHETIC_ARMS, ArmData, arm_dataset, classic_augmentation, expand_arms
from .data import EvaluationROIs, ROISet, as_evaluation_rois, evaluation_rois
from .downstream import (
    MAIN_SCORE,
    TASKS,
    fold_scores,
    interval,
    normal_scores,
    run_downstream,
    sensitivity_at_specificity,
    train_arm_classifier,
    verdict,
)
from .evaluate import evaluate_generator, matched_subset, noise_like
from .report import write_report

__all__ = [
    "ARMS",
    "ArmData",
    "EvaluationROIs",
    "as_evaluation_rois",
    "MAIN_SCORE",
    "NON_SYNTHETIC_ARMS",
    "ROISet",
    "TASKS",
    "arm_dataset",
    "classic_augmentation",
    "evaluate_generator",
    "evaluation_rois",
    "expand_arms",
    "fold_scores",
    "interval",
    "matched_subset",
    "noise_like",
    "normal_scores",
    "run_downstream",
    "sensitivity_at_specificity",
    "train_arm_classifier",
    "verdict",
    "write_report",
]
