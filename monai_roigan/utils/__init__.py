"""Small shared utilities: exceptions and seeding helpers."""

from .errors import AnnotationError, MammogramReadError, MissingImageError, UnsupportedTransferSyntaxError
from .seeding import derived_rng

__all__ = [
    "AnnotationError",
    "MammogramReadError",
    "MissingImageError",
    "UnsupportedTransferSyntaxError",
    "derived_rng",
]
