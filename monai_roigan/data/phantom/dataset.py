"""The phantom dataset folder: ``mdbNNN.pgm`` images, ``Info.txt`` in the MIAS format and ``phantom.json``."""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Mapping
from os import PathLike
from pathlib import Path

import numpy as np

from monai_roigan.data.classes import MIAS_CODES
from monai_roigan.data.pgm import write_pgm
from monai_roigan.data.phantom.common import (
    _CODE_BLOCK,
    _MAX_IMAGES,
    _SECOND_LESION_PROBABILITY,
    _SEPARATOR,
    _TISSUE_PROBABILITY,
    DEFAULT_CLASS_WEIGHTS,
    PHANTOM_VERSION,
    PhantomLesion,
)
from monai_roigan.data.phantom.render import render_phantom_mammogram
from monai_roigan.utils.progress import progress
from monai_roigan.utils.seeding import derived_rng

logger = logging.getLogger("monai_roigan.phantom")


def _normalise_weights(class_weights: Mapping[str, float] | None) -> dict[str, float]:
    weights = dict(DEFAULT_CLASS_WEIGHTS if class_weights is None else class_weights)
    unknown = set(weights) - set(MIAS_CODES)
    if unknown:
        raise ValueError(f"class_weights has unknown MIAS codes {sorted(unknown)}; known: {sorted(MIAS_CODES)}")
    if any(not math.isfinite(w) or w < 0 for w in weights.values()) or sum(weights.values()) <= 0:
        raise ValueError(f"class_weights must be finite, non-negative and not all zero, got {weights}")
    total = sum(weights.values())
    return {code: weights[code] / total for code in MIAS_CODES if weights.get(code, 0) > 0}


def _code_deck(weights: Mapping[str, float], block: int, rng: np.random.Generator) -> list[str]:
    """One shuffled deck of ``block`` codes with counts proportional to ``weights`` (largest remainder)."""
    codes = list(weights)
    quota = np.array([weights[c] * block for c in codes])
    counts = np.floor(quota).astype(int)
    remainder = quota - counts + rng.uniform(0, 1e-6, len(codes))  # seeded tie-break
    counts[np.argsort(-remainder)[: block - counts.sum()]] += 1
    deck = [c for c, n in zip(codes, counts) for _ in range(n)]
    rng.shuffle(deck)
    return deck


def _assign_codes(seed: int, num_images: int, weights: Mapping[str, float]) -> list[str]:
    """Class code of each image, dealt from consecutive seeded decks of ``_CODE_BLOCK`` images.

    Counts are balanced within every deck (not i.i.d.), and image ``k``'s code depends on ``k`` and the seed
    only, not on ``num_images``.
    """
    codes: list[str] = []
    for deck_index in range((num_images + _CODE_BLOCK - 1) // _CODE_BLOCK):
        codes += _code_deck(weights, _CODE_BLOCK, derived_rng(seed, "phantom-codes", deck_index))
    return codes[:num_images]


def format_info_row(name: str, tissue: str, lesion: PhantomLesion | None, size: int = 1024) -> str:
    """One ``Info.txt`` row in the exact MIAS format.

    ``format_info_row("mdb001", "G", PhantomLesion("CIRC", "B", 599, 535, 197))`` gives
    ``"mdb001 G CIRC B 535 425 197"`` (``x = col``, ``y = size - row``: bottom-left origin); a normal image
    (``lesion=None``) gives ``"mdb003 D NORM "`` with the trailing space of the real file.
    """
    if lesion is None:
        return f"{name} {tissue} NORM "
    return f"{name} {tissue} {lesion.code} {lesion.severity} {lesion.col} {size - lesion.row} {lesion.radius}"


def _info_header(seed: int, num_images: int, size: int) -> str:
    """Free-text header modelled on the real MIAS ``Info.txt`` (no line may start with ``mdb``)."""
    return f"""\
              MONAI-ROIGAN SYNTHETIC PHANTOM MAMMOGRAMS
              in the layout of the MIAS MiniMammographic Database



This folder was written by monai_roigan.data.phantom (phantom version
{PHANTOM_VERSION}, seed {seed}, {num_images} images). The images are SYNTHETIC
PHANTOMS drawn from random numbers: they are NOT patient data and NOT
the MIAS database. They only copy its layout, so that software can be
trained and tested without the real data: binary PGM (P5), 8-bit,
{size} pixels x {size} pixels, 200 micron pixel edge at 1024 pixels,
medio-lateral oblique views.

{_SEPARATOR}

INFORMATION:

This file lists the films in the phantom database and provides
appropriate details as follows:

1st column: database reference number (as in MIAS).

2nd column: Character of background tissue:
                F - Fatty
                G - Fatty-glandular
                D - Dense-glandular

3rd column: Class of abnormality present:
                CALC - Calcification
                CIRC - Well-defined/circumscribed masses
                SPIC - Spiculated masses
                MISC - Other, ill-defined masses
                ARCH - Architectural distortion
                ASYM - Asymmetry
                NORM - Normal

4th column: Severity of abnormality;
                B - Benign
                M - Malignant

5th,6th columns: x,y image-coordinates of centre of abnormality.

7th column: Approximate radius (in pixels) of a circle enclosing
            the abnormality.

NOTES
=====
1) The list is arranged in pairs of films: left (even filename
   numbers) and right (odd filename numbers) breasts. In this phantom
   the two films of a pair are independent draws.

2) The size of ALL the images is {size} pixels x {size} pixels.

3) When calcifications are present, centre locations and radii
   apply to clusters rather than individual calcifications.
   Coordinate system origin is the bottom-left corner.

4) Images with two abnormalities have two rows.

{_SEPARATOR}

"""


def _parameters(num_images: int, seed: int, weights: Mapping[str, float], size: int) -> dict:
    return {
        "generator": "monai_roigan.data.phantom",
        "phantom_version": PHANTOM_VERSION,
        "num_images": num_images,
        "seed": seed,
        "size": size,
        "class_weights": {code: round(w, 12) for code, w in weights.items()},
    }


def _image_meta(seed: int, refnum: int, code: str) -> tuple[str, int]:
    """Tissue class and number of lesions of image ``refnum`` (independent of the other images)."""
    rng = derived_rng(seed, "phantom", refnum, "meta")
    tissue = str(rng.choice(list(_TISSUE_PROBABILITY), p=list(_TISSUE_PROBABILITY.values())))
    second = rng.random() < _SECOND_LESION_PROBABILITY
    return tissue, 0 if code == "NORM" else 1 + int(second)


def make_phantom_dataset(
    root: str | PathLike,
    num_images: int = 60,
    seed: int = 0,
    class_weights: dict[str, float] | None = None,
    size: int = 1024,
    overwrite: bool = False,
) -> Path:
    """Write a phantom MIAS folder: ``root/mdb001.pgm`` ... ``root/Info.txt`` and ``root/phantom.json``.

    Args:
        root: output folder (created if needed).
        num_images: number of images, 1-999 (MIAS reference numbers have three digits).
        seed: global seed; image ``k`` is the same whatever ``num_images`` is.
        class_weights: relative share of each MIAS code (default :data:`DEFAULT_CLASS_WEIGHTS`); codes are
            dealt from seeded shuffled decks of 20 images, so counts are balanced rather than i.i.d.
        size: image side in pixels (1024 for MIAS).
        overwrite: rewrite a folder that already has an ``Info.txt``.

    Returns:
        ``root`` as a :class:`~pathlib.Path`.

    Raises:
        FileExistsError: ``root/Info.txt`` exists, ``overwrite`` is False and ``root/phantom.json`` does not
            record the same parameters (a folder made with the same parameters is returned as is: a cache).
        ValueError: bad ``num_images``, ``size`` or ``class_weights``.
    """
    if not 1 <= num_images <= _MAX_IMAGES:
        raise ValueError(f"num_images must be between 1 and {_MAX_IMAGES}, got {num_images}")
    root = Path(root)
    weights = _normalise_weights(class_weights)
    params = _parameters(num_images, seed, weights, size)
    info_path, params_path = root / "Info.txt", root / "phantom.json"
    previous = _read_parameters(params_path)
    if info_path.exists() and not overwrite:
        if previous == params:
            logger.info("phantom: %s already holds these %d images (seed %d); reused", root, num_images, seed)
            return root
        why = (
            "has no phantom.json, so it is not a phantom folder (real MIAS data?)"
            if previous is None
            else f"was made with other parameters ({json.dumps(previous, sort_keys=True)}, requested "
            f"{json.dumps(params, sort_keys=True)})"
        )
        raise FileExistsError(f"{info_path} already exists and {why}; choose another folder or pass overwrite=True")
    root.mkdir(parents=True, exist_ok=True)
    if previous is not None:  # our own earlier phantom: drop images the new table will not list
        for stale in root.glob("mdb*.pgm"):
            if re.fullmatch(r"mdb\d{3}\.pgm", stale.name) and int(stale.name[3:6]) > num_images:
                stale.unlink()
    params_path.unlink(missing_ok=True)
    rows = []
    codes = _assign_codes(seed, num_images, weights)
    for k, code in progress(enumerate(codes), f"phantom images into {root}", len(codes), logger, "images"):
        refnum = k + 1
        name = f"mdb{refnum:03d}"
        tissue, num_lesions = _image_meta(seed, refnum, code)
        image, lesions = render_phantom_mammogram(refnum, code, tissue, seed, size, num_lesions)
        write_pgm(root / f"{name}.pgm", image)
        rows += [format_info_row(name, tissue, lesion, size) for lesion in lesions] or [
            format_info_row(name, tissue, None, size)
        ]
    info_path.write_text(_info_header(seed, num_images, size) + "\n".join(rows) + f"\n\n{_SEPARATOR}\n")
    params_path.write_text(json.dumps(params, indent=2, sort_keys=True) + "\n")
    return root


def _read_parameters(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None
