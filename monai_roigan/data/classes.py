"""Abnormality classes: MIAS codes, the paper's four ROI classes, and the mapping between them.

The paper synthesises four abnormality classes. Their integer labels follow the order of
:data:`ABNORMALITY_CLASSES`; ``normal`` is an optional fifth class with label 4. The grouping of MIAS codes
is configurable (a bundle can pass its own ``class_map``), but the default is the paper's:

==========  ===========================
MIAS code   class
==========  ===========================
ARCH        architectural_distortion
ASYM        asymmetry
CALC        calcification
CIRC        mass (circumscribed)
SPIC        mass (spiculated)
MISC        mass (ill-defined)
NORM        normal
==========  ===========================
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = [
    "ABNORMALITY_CLASSES",
    "NORMAL_CLASS",
    "ALL_CLASSES",
    "MIAS_CODES",
    "MIAS_TISSUES",
    "DEFAULT_MIAS_CLASS_MAP",
    "class_label",
]

ABNORMALITY_CLASSES: tuple[str, ...] = ("architectural_distortion", "asymmetry", "calcification", "mass")
NORMAL_CLASS = "normal"
ALL_CLASSES: tuple[str, ...] = ABNORMALITY_CLASSES + (NORMAL_CLASS,)

MIAS_CODES: dict[str, str] = {
    "CALC": "Calcification",
    "CIRC": "Well-defined/circumscribed masses",
    "SPIC": "Spiculated masses",
    "MISC": "Other, ill-defined masses",
    "ARCH": "Architectural distortion",
    "ASYM": "Asymmetry",
    "NORM": "Normal",
}
MIAS_TISSUES: dict[str, str] = {"F": "Fatty", "G": "Fatty-glandular", "D": "Dense-glandular"}

DEFAULT_MIAS_CLASS_MAP: dict[str, str] = {
    "ARCH": "architectural_distortion",
    "ASYM": "asymmetry",
    "CALC": "calcification",
    "CIRC": "mass",
    "SPIC": "mass",
    "MISC": "mass",
    "NORM": NORMAL_CLASS,
}


def class_label(name: str, class_names: Sequence[str] = ALL_CLASSES) -> int:
    """Integer label of a class name within ``class_names`` (default: the four classes, then normal).

    Raises:
        ValueError: the name is not one of ``class_names``.
    """
    try:
        return list(class_names).index(name)
    except ValueError:
        raise ValueError(f"unknown class name {name!r}; expected one of {list(class_names)}") from None


def check_class_map(class_map: Mapping[str, str | None]) -> dict[str, str | None]:
    """Validate a MIAS-code-to-class mapping; a code mapped to ``None`` is dropped from datalists."""
    unknown = set(class_map) - set(MIAS_CODES)
    if unknown:
        raise ValueError(f"class_map has unknown MIAS codes {sorted(unknown)}; known: {sorted(MIAS_CODES)}")
    return dict(class_map)
