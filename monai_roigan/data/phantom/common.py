"""Constants shared by the phantom modules and :class:`PhantomLesion`, the record of one ``Info.txt`` row."""

from __future__ import annotations

from dataclasses import dataclass

PHANTOM_VERSION = 2
"""Bumped whenever the drawing changes, so a cached phantom folder of an older version is not reused."""

DEFAULT_CLASS_WEIGHTS: dict[str, float] = {
    "ARCH": 0.2,
    "ASYM": 0.2,
    "CALC": 0.2,
    "CIRC": 0.2 / 3,
    "SPIC": 0.2 / 3,
    "MISC": 0.2 / 3,
    "NORM": 0.2,
}
"""The paper's four classes (mass split over CIRC/SPIC/MISC) in equal shares, plus normals."""

LESION_RADIUS_RANGES: dict[str, tuple[int, int]] = {
    "CIRC": (15, 60),
    "SPIC": (15, 60),
    "MISC": (15, 60),
    "CALC": (10, 40),
    "ARCH": (20, 70),
    "ASYM": (30, 80),
}
"""Radius (pixels at 0.2 mm, ``size=1024``) of the circle enclosing each abnormality type."""

_MALIGNANT_PROBABILITY = {"CIRC": 0.2, "SPIC": 0.85, "MISC": 0.5, "CALC": 0.5, "ARCH": 0.5, "ASYM": 0.5}
_TISSUE_PROBABILITY = {"F": 1 / 3, "G": 1 / 3, "D": 1 / 3}  # MIAS itself has 106 F, 104 G, 112 D films
_SECOND_LESION_PROBABILITY = 0.1
_CODE_BLOCK = 20  # class codes are dealt from seeded shuffled decks of this many images
_MAX_IMAGES = 999  # MIAS reference numbers have three digits
_REF_SIZE = 1024  # all lengths in this package are for this size and scale with size / _REF_SIZE
_SEPARATOR = "=" * 65


@dataclass(frozen=True)
class PhantomLesion:
    """One abnormality of a phantom image, i.e. one ``Info.txt`` row.

    Attributes:
        code: MIAS class code (CALC, CIRC, SPIC, MISC, ARCH, ASYM).
        severity: ``"B"`` (benign) or ``"M"`` (malignant); None only for ``NORM``, which
            :func:`render_phantom_mammogram` never returns as a lesion (a normal image has no lesions).
        row: centre row in **top-left** pixel coordinates (``Info.txt`` stores ``y = size - row``).
        col: centre column in top-left pixel coordinates (``Info.txt`` stores ``x = col``).
        radius: radius in pixels of a circle enclosing the abnormality (for CALC: the cluster).
    """

    code: str
    severity: str | None
    row: int
    col: int
    radius: int
