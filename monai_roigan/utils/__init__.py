"""Small shared utilities: exceptions, atomic writes, safe loading, seeding, torch's thread count, progress
(``utils.progress``) and the commands' help and logging set-up (``utils.cli``)."""

from .atomic import atomic_write
from .errors import (
    AnnotationError,
    CheckpointError,
    ConfigurationError,
    MammogramReadError,
    MissingImageError,
    UnsupportedTransferSyntaxError,
)
from .safe_load import load_state_file
from .seeding import derived_rng
from .threads import torch_threads

__all__ = [
    "AnnotationError",
    "CheckpointError",
    "ConfigurationError",
    "MammogramReadError",
    "MissingImageError",
    "UnsupportedTransferSyntaxError",
    "atomic_write",
    "derived_rng",
    "load_state_file",
    "torch_threads",
]
