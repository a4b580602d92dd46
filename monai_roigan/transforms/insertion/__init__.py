"""A trained context generator paints a synthetic lesion into a real ROI: :class:`InsertSyntheticLesion` (``array``)
and its dictionary twin :class:`InsertSyntheticLesiond` (``dictionary``)."""

from .array import InsertSyntheticLesion
from .dictionary import InsertSyntheticLesionD, InsertSyntheticLesiond, InsertSyntheticLesionDict

__all__ = ["InsertSyntheticLesion", "InsertSyntheticLesiond", "InsertSyntheticLesionD", "InsertSyntheticLesionDict"]
