"""Copy-paste of real lesions into normal-tissue ROIs: :class:`CopyPasteLesion` (``array``) and its dictionary twin
:class:`CopyPasteLesiond` (``dictionary``)."""

from .array import CopyPasteLesion, blend_mask, mark_unpasted
from .dictionary import CopyPasteLesionD, CopyPasteLesiond, CopyPasteLesionDict

__all__ = [
    "CopyPasteLesion",
    "CopyPasteLesiond",
    "CopyPasteLesionD",
    "CopyPasteLesionDict",
    "blend_mask",
    "mark_unpasted",
]
