"""Film of the phantom: characteristic curve, grain, black padding, burned-in label and marker numbers,
scanner artefacts."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage as ndi

from monai_roigan.data.phantom.anatomy import _Anatomy
from monai_roigan.data.phantom.common import _REF_SIZE


def _film_exposure(rng: np.random.Generator, att: np.ndarray, anatomy: _Anatomy) -> np.ndarray:
    """Grey level (float32, 0-255) of the developed film: base fog + saturating characteristic curve + grain.

    ``grey = base + (white - base) * (1 - exp(-gain * att))``; film grain is mildly correlated Gaussian
    noise; the black padding outside the film (``chest_col``, ``film_end``) is exactly 0.
    """
    size, s = anatomy.size, anatomy.size / _REF_SIZE
    base = rng.uniform(2.0, 8.0)
    white = rng.uniform(228, 242)
    gain = rng.uniform(0.9, 1.1) * (1 + 0.04 * (np.arange(size, dtype=np.float32)[:, None] / size - 0.5))
    grey = base + (white - base) * (1 - np.exp(-gain * att))
    grain = ndi.gaussian_filter(rng.standard_normal((size, size), dtype=np.float32), 0.7 * s)
    grey += grain * (rng.uniform(1.2, 2.2) / max(float(grain.std()), 1e-6))
    return grey.astype(np.float32)


def _apply_padding(grey: np.ndarray, anatomy: _Anatomy) -> None:
    grey[:, : anatomy.chest_col] = 0
    grey[:, anatomy.film_end :] = 0


def _scanner_artifact(rng: np.random.Generator, grey: np.ndarray, anatomy: _Anatomy) -> None:
    """Sometimes (35 %) a digitiser/film-edge artefact: a bright top edge band, a scratch or an edge line."""
    if rng.random() >= 0.35:
        return
    size, s = anatomy.size, anatomy.size / _REF_SIZE
    kind = rng.integers(3)
    if kind == 0:  # unexposed film edge along the top
        grey[: max(int(rng.uniform(1, 6) * s), 1)] = rng.uniform(150, 200)
    elif kind == 1:  # thin horizontal scratch near the bottom
        r = int(rng.uniform(0.9, 0.98) * size)
        c0 = int(rng.uniform(0.2, 0.6) * size)
        grey[r, c0 : c0 + int(rng.uniform(0.2, 0.4) * size)] *= rng.uniform(0.3, 0.7)
    else:  # bright line along the far film edge
        c = max(anatomy.film_end - 1 - int(rng.uniform(0, 6) * s), 0)
        grey[:, c] = np.maximum(grey[:, c], rng.uniform(80, 160))


def _text_bitmap(text: str, scale: int) -> np.ndarray:
    """Bool (h, w) bitmap of ``text`` in PIL's built-in bitmap font, enlarged ``scale`` times (blocky)."""
    font = (
        ImageFont.load_default_imagefont() if hasattr(ImageFont, "load_default_imagefont") else ImageFont.load_default()
    )
    left, top, right, bottom = font.getbbox(text)
    img = Image.new("L", (right - left + 2, bottom - top + 2))
    ImageDraw.Draw(img).text((1 - left, 1 - top), text, fill=255, font=font)
    bitmap = np.asarray(img) > 127
    rows, cols = np.nonzero(bitmap)
    bitmap = bitmap[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    return np.kron(bitmap, np.ones((scale, scale), bool))


def _film_label(rng: np.random.Generator, side: str, scale: float) -> np.ndarray:
    """Grey (float32) patch of a burned-in film label: a white card with dark blocky ``side`` over ``ML``."""
    glyph = max(int(round(4 * scale)), 1)
    lines = [_text_bitmap(side, glyph), _text_bitmap("ML", glyph)]
    gap, pad = 3 * glyph, int(rng.uniform(2.5, 4.5) * glyph)
    height = sum(b.shape[0] for b in lines) + gap + 2 * pad
    width = max(b.shape[1] for b in lines) + 2 * pad
    patch = np.full((height, width), rng.uniform(218, 234), np.float32)
    patch += rng.normal(0, 1.5, patch.shape).astype(np.float32)
    ink = rng.uniform(20, 60)
    r = pad
    for bitmap in lines:
        c = (width - bitmap.shape[1]) // 2 if rng.random() < 0.5 else pad
        patch[r : r + bitmap.shape[0], c : c + bitmap.shape[1]][bitmap] = ink
        r += bitmap.shape[0] + gap
    if rng.random() < 0.25:  # film viewed from the back: mirrored label, as on some MIAS films
        patch = patch[:, ::-1]
    return ndi.gaussian_filter(patch, 0.6 * scale)


def _marker_text(rng: np.random.Generator, scale: float) -> np.ndarray:
    """Grey (float32) patch with faint light-grey numbers on transparent (0) background, e.g. ``2 7``."""
    text = f"{rng.integers(1, 10)} {rng.integers(1, 10)}"
    bitmap = _text_bitmap(text, max(int(round(3 * scale)), 1))
    return np.where(bitmap, rng.uniform(90, 170), 0).astype(np.float32)


def _stamp_background(rng: np.random.Generator, grey: np.ndarray, anatomy: _Anatomy, side: str, flipped: bool) -> None:
    """Burn the film label (and sometimes marker numbers) into the upper background, away from the breast.

    Positions are found in canonical coordinates (clear of the breast by 25 px, inside the film) and drawn
    into the final, possibly mirrored, image so the letters read correctly.
    """
    size, s = anatomy.size, anatomy.size / _REF_SIZE
    patches = [(_film_label(rng, side, s), False)]
    if rng.random() < 0.5:
        patches.append((_marker_text(rng, s), True))
    row = int(rng.uniform(8, 160) * s)
    for patch, transparent in patches:
        h, w = patch.shape
        if row + h > size:
            break
        reach = anatomy.chest_col + float(anatomy.depth[row : row + h].max()) + 25 * s
        lo, hi = int(reach), int(anatomy.film_end - w - 30 * s)
        if hi <= lo:
            break
        c0 = int(rng.uniform(lo + 0.3 * (hi - lo), hi))
        if flipped:
            c0 = size - c0 - w
        target = grey[row : row + h, c0 : c0 + w]
        target[...] = np.where(patch > 0, patch, target) if transparent else patch
        row += h + int(rng.uniform(10, 40) * s)
