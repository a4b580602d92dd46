"""Small shared utilities: exceptions and seeding helpers."""

from .errors import AnnotationError, MammogramReadError, MissingImageError, UnsupportedTransferSyntaxError
from .atomic import atomic_write
from .seeding import derived_rng

__all__ = [
    "AnnotationError",
    "MammogramReadError",
    "MissingImageError",
    "UnsupportedTransferSyntaxError",
    "atomic_write",
    "derived_rng",
]
