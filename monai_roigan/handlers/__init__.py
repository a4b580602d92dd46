"""Ignite/MONAI handlers for GAN training: checkpoints (saver and loader), NaN guard, sample grids, curves, the
quality score and export. Handlers talk through ``engine.state`` (metrics, the best checkpoint's path) and the
engine's events, never to each other."""

from .checkpoint import (
    GanCheckpointLoader,
    GanCheckpointSaver,
    RNGStates,
    latest_checkpoint,
    load_checkpoint,
    training_checkpoints,
    training_objects,
)
from .curves import TrainingCurves
from .export import ExportGenerator
from .nan_guard import NonFiniteGuard, NonFiniteLossError
from .quality import GeneratorQuality
from .realism import GeneratorRealism
from .samples import FixedNoiseSamples
from .scores import publish_scores
from .summary_writer import NullSummaryWriter, rank_zero_summary_writer

__all__ = [
    "ExportGenerator",
    "FixedNoiseSamples",
    "GanCheckpointLoader",
    "GanCheckpointSaver",
    "GeneratorQuality",
    "GeneratorRealism",
    "NonFiniteGuard",
    "NonFiniteLossError",
    "NullSummaryWriter",
    "RNGStates",
    "TrainingCurves",
    "latest_checkpoint",
    "training_checkpoints",
    "load_checkpoint",
    "publish_scores",
    "rank_zero_summary_writer",
    "training_objects",
]
