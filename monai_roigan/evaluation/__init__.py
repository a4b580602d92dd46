"""Judging a trained generator: its evaluation report (``evaluate``, ``report``), the downstream classifier
experiment (``downstream``, its arms in ``arms``, its judge in ``judge`` and ``statistics``, its report in
``downstream_report``, the tuning of its baselines in ``tuning``), the realism judge (``realism``: can a
classifier tell synthetic ROIs from real ones of unseen women; its report in ``realism_report``) and the real
ROIs all use (``data``). The top layer: nothing imports it."""

from .arms import ARMS, GENERATOR_FREE_ARMS, NON_SYNTHETIC_ARMS, ArmData, arm_dataset, classic_augmentation, expand_arms
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
)
from .evaluate import evaluate_generator, matched_subset, noise_like
from .judge import Classified, judge
from .realism import (
    INSERTION_METHODS,
    RealismScores,
    generator_sampler,
    generators_to_judge,
    insertion_sampler,
    judge_realism,
    real_vs_real,
    realism_scores,
)
from .report import write_report
from .tuning import DEFAULT_COPY_PASTE_GRID, tune_baselines

__all__ = [
    "INSERTION_METHODS",
    "RealismScores",
    "generator_sampler",
    "generators_to_judge",
    "insertion_sampler",
    "judge_realism",
    "real_vs_real",
    "realism_scores",
    "ARMS",
    "DEFAULT_COPY_PASTE_GRID",
    "ArmData",
    "Classified",
    "EvaluationROIs",
    "as_evaluation_rois",
    "MAIN_SCORE",
    "GENERATOR_FREE_ARMS",
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
    "judge",
    "matched_subset",
    "noise_like",
    "normal_scores",
    "run_downstream",
    "sensitivity_at_specificity",
    "train_arm_classifier",
    "tune_baselines",
    "write_report",
]
