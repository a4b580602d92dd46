"""Training engines: the class-conditional GAN trainer, its grouped settings (GanLosses, GeneratorInput,
Precision) and its lesion in-filling variant, its regularisers, distributed helpers, the ROI classifier's
training function and the real-vs-synthetic critic."""

from .classifier import balancing_weights, check_sampling_weights, roi_items, train_roi_classifier
from .context_trainer import ContextGanTrainer
from .events import ScoreEvents, ensure_score_events, fire_scored, scoring_due
from .realism_critic import (
    REAL,
    SYNTHETIC,
    fit_realism_critic,
    lesion_weights,
    real_log_odds,
    real_probability,
    realism_score,
)
from .regularizers import DIFFAUGMENT_POLICIES, DiffAugment, make_ema, r1_penalty, update_ema
from .settings import GanLosses, GeneratorInput, Precision
from .trainer import SCALAR_KEYS, ROIGanTrainer

__all__ = [
    "ContextGanTrainer",
    "DIFFAUGMENT_POLICIES",
    "DiffAugment",
    "GanLosses",
    "GeneratorInput",
    "Precision",
    "ROIGanTrainer",
    "SCALAR_KEYS",
    "REAL",
    "SYNTHETIC",
    "ScoreEvents",
    "balancing_weights",
    "check_sampling_weights",
    "ensure_score_events",
    "fire_scored",
    "fit_realism_critic",
    "lesion_weights",
    "make_ema",
    "r1_penalty",
    "real_log_odds",
    "real_probability",
    "realism_score",
    "roi_items",
    "scoring_due",
    "train_roi_classifier",
    "update_ema",
]
