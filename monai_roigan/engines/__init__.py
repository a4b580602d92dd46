"""Training engines: the class-conditional GAN trainer, its grouped settings (GanLosses, GeneratorInput,
Precision) and its lesion in-filling variant, its regularisers, distributed helpers, and the ROI classifier's
training function."""

from .classifier import balancing_weights, roi_items, train_roi_classifier
from .context_trainer import ContextGanTrainer
from .events import ScoreEvents, ensure_score_events
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
    "ScoreEvents",
    "ensure_score_events",
    "balancing_weights",
    "make_ema",
    "r1_penalty",
    "roi_items",
    "train_roi_classifier",
    "update_ema",
]
