"""Public rendering API of the phantom: :func:`render_phantom_mammogram` draws one MLO film mammogram."""

from __future__ import annotations

import numpy as np

from monai_roigan.data.classes import MIAS_CODES, MIAS_TISSUES
from monai_roigan.data.phantom.anatomy import _build_anatomy
from monai_roigan.data.phantom.common import _MALIGNANT_PROBABILITY, _REF_SIZE, LESION_RADIUS_RANGES, PhantomLesion
from monai_roigan.data.phantom.film import _apply_padding, _film_exposure, _scanner_artifact, _stamp_background
from monai_roigan.data.phantom.lesions import _LESION_RENDERERS, _Canvas, _place_lesions
from monai_roigan.data.phantom.tissue import _normal_attenuation
from monai_roigan.utils.seeding import derived_rng


def _check_code_tissue(code: str, tissue: str) -> None:
    if code not in MIAS_CODES:
        raise ValueError(f"unknown MIAS code {code!r}; expected one of {sorted(MIAS_CODES)}")
    if tissue not in MIAS_TISSUES:
        raise ValueError(f"unknown MIAS tissue {tissue!r}; expected one of {sorted(MIAS_TISSUES)}")


def _lesion_radii(rng: np.random.Generator, code: str, num_lesions: int, scale: float) -> list[int]:
    lo, hi = LESION_RADIUS_RANGES[code]
    return [max(int(round(rng.uniform(lo, hi) * scale)), 2) for _ in range(num_lesions)]


def render_phantom_mammogram(
    refnum: int, code: str, tissue: str, seed: int = 0, size: int = 1024, num_lesions: int = 1
) -> tuple[np.ndarray, list[PhantomLesion]]:
    """Render one phantom MLO film mammogram.

    Args:
        refnum: MIAS reference number (``mdb{refnum:03d}``); even = left breast (chest wall on the left
            image edge), odd = right breast (chest wall on the right edge). Also keys the random streams.
        code: MIAS class code: CALC, CIRC, SPIC, MISC, ARCH, ASYM or NORM (no lesion).
        tissue: background tissue, ``F`` (fatty), ``G`` (fatty-glandular) or ``D`` (dense-glandular).
        seed: global seed; the image is a deterministic function of (seed, refnum, code, tissue, size,
            num_lesions), and its anatomy depends on (seed, refnum, tissue, size) only.
        size: image side in pixels (1024 = 200 micron pixels like MIAS; lengths scale with size / 1024).
        num_lesions: number of lesions of class ``code`` (ignored for NORM).

    Returns:
        ``(image, lesions)``: uint8 array (size, size), row 0 at the top, 0 = black; and one
        :class:`PhantomLesion` per lesion (empty for NORM) with centres in top-left pixel coordinates.
    """
    _check_code_tissue(code, tissue)
    if size < 64:
        raise ValueError(f"size must be at least 64 pixels, got {size}")
    if num_lesions < 0:
        raise ValueError(f"num_lesions must be >= 0, got {num_lesions}")
    s = size / _REF_SIZE
    anatomy = _build_anatomy(seed, refnum, tissue, size)
    att, gland = _normal_attenuation(derived_rng(seed, "phantom", refnum, "tissue", tissue), anatomy, tissue)
    canvas = _Canvas(att, np.zeros_like(att), np.zeros_like(att), gland, s)

    lesions: list[PhantomLesion] = []
    if code != "NORM" and num_lesions > 0:
        lrng = derived_rng(seed, "phantom", refnum, "lesions", code, num_lesions)
        severity = "M" if lrng.random() < _MALIGNANT_PROBABILITY[code] else "B"
        for row, col, radius in _place_lesions(lrng, anatomy, _lesion_radii(lrng, code, num_lesions, s)):
            _LESION_RENDERERS[code](canvas, lrng, row, col, radius)
            lesions.append(PhantomLesion(code, severity, row, col, radius))

    frng = derived_rng(seed, "phantom", refnum, "film")
    grey = _film_exposure(frng, canvas.att, anatomy)
    _scanner_artifact(frng, grey, anatomy)
    grey += canvas.speck_alpha * (canvas.speck_level - grey)
    _apply_padding(grey, anatomy)
    flipped = refnum % 2 == 1
    if flipped:
        grey = np.ascontiguousarray(grey[:, ::-1])
        lesions = [PhantomLesion(les.code, les.severity, les.row, size - 1 - les.col, les.radius) for les in lesions]
    _stamp_background(frng, grey, anatomy, "R" if flipped else "L", flipped)
    return np.clip(np.rint(grey), 0, 255).astype(np.uint8), lesions
