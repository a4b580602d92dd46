"""Transplant of real lesion residuals into normal-tissue ROIs: :class:`TransplantLesion` (``array``) and its
dictionary twin :class:`TransplantLesiond` (``dictionary``)."""

from .array import TransplantLesion, lesion_residual
from .dictionary import TransplantLesionD, TransplantLesiond, TransplantLesionDict

__all__ = ["TransplantLesion", "TransplantLesiond", "TransplantLesionD", "TransplantLesionDict", "lesion_residual"]
