"""The normal counterpart of an ROI, predicted by a tissue in-filler from its surround, as extra channels:
:class:`NormalCounterpart` (``array``) and its dictionary twin :class:`NormalCounterpartd` (``dictionary``)."""

from .array import COUNTERPART_OUTPUTS, NormalCounterpart
from .dictionary import NormalCounterpartD, NormalCounterpartd, NormalCounterpartDict

__all__ = [
    "COUNTERPART_OUTPUTS",
    "NormalCounterpart",
    "NormalCounterpartd",
    "NormalCounterpartD",
    "NormalCounterpartDict",
]
