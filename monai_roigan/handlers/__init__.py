"""Ignite/MONAI handlers for GAN training: checkpoints, NaN guard, sample grids, curves, export."""

from .checkpoint import GanCheckpointer, RNGStates, latest_checkpoint, load_checkpoint
from .curves import TrainingCurves
from .export import ExportGenerator
from .nan_guard import NonFiniteGuard, NonFiniteLossError
from .quality import GeneratorQuality
from .samples import FixedNoiseSamples, generate
from .summary_writer import NullSummaryWriter, rank_zero_summary_writer

__all__ = [
    "ExportGenerator",
    "FixedNoiseSamples",
    "GanCheckpointer",
    "GeneratorQuality",
    "NonFiniteGuard",
    "NonFiniteLossError",
    "NullSummaryWriter",
    "RNGStates",
    "TrainingCurves",
    "generate",
    "latest_checkpoint",
    "load_checkpoint",
    "rank_zero_summary_writer",
]
