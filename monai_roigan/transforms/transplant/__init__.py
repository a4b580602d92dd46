"""Transplant of lesion residuals into normal-tissue ROIs: :class:`TransplantLesion` (``array``) and its dictionary
twin :class:`TransplantLesiond` (``dictionary``); :class:`LesionResidual` / :class:`LesionResiduald` turn lesion ROIs
into the residuals a transplant adds."""

from .array import LesionResidual, TransplantLesion, lesion_residual
from .dictionary import (
    LesionResidualD,
    LesionResiduald,
    LesionResidualDict,
    TransplantLesionD,
    TransplantLesiond,
    TransplantLesionDict,
)

__all__ = [
    "LesionResidual",
    "LesionResiduald",
    "LesionResidualD",
    "LesionResidualDict",
    "TransplantLesion",
    "TransplantLesiond",
    "TransplantLesionD",
    "TransplantLesionDict",
    "lesion_residual",
]
