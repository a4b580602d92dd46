"""Image grids for figures and logs (NumPy and Pillow only; no plotting library needed)."""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike

import numpy as np
from PIL import Image, ImageDraw

__all__ = ["tile_images", "to_uint8", "save_png", "labelled_rows"]


def to_uint8(images: np.ndarray, value_range: tuple[float, float] = (-1.0, 1.0)) -> np.ndarray:
    """Map intensities in ``value_range`` linearly to 0..255 (clipped)."""
    lo, hi = value_range
    return (np.clip((np.asarray(images, dtype=np.float32) - lo) / (hi - lo), 0, 1) * 255 + 0.5).astype(np.uint8)


def tile_images(images: Sequence[np.ndarray], ncols: int, pad: int = 2, pad_value: int = 255) -> np.ndarray:
    """Tile equally sized (H, W) or (1, H, W) uint8 images row by row into one (rows*H, ncols*W) image."""
    tiles = [np.asarray(i)[0] if np.asarray(i).ndim == 3 else np.asarray(i) for i in images]
    if not tiles:
        raise ValueError("tile_images needs at least one image")
    h, w = tiles[0].shape
    nrows = -(-len(tiles) // ncols)
    grid = np.full((nrows * (h + pad) + pad, ncols * (w + pad) + pad), pad_value, dtype=np.uint8)
    for k, tile in enumerate(tiles):
        r, c = divmod(k, ncols)
        grid[pad + r * (h + pad) : pad + r * (h + pad) + h, pad + c * (w + pad) : pad + c * (w + pad) + w] = tile
    return grid


def labelled_rows(rows: Sequence[tuple[str, np.ndarray]], label_width: int = 170) -> np.ndarray:
    """Stack (label, uint8 image) rows vertically, each with its label written on a white margin."""
    width = max(img.shape[1] for _, img in rows)
    blocks = []
    for label, img in rows:
        block = Image.new("L", (label_width + width, img.shape[0]), 255)
        block.paste(Image.fromarray(img), (label_width, 0))
        ImageDraw.Draw(block).text((4, img.shape[0] // 2 - 6), label, fill=0)
        blocks.append(np.asarray(block))
    return np.concatenate(blocks, axis=0)


def save_png(image: np.ndarray, path: str | PathLike) -> None:
    """Save a (H, W) uint8 array as PNG."""
    Image.fromarray(np.asarray(image, dtype=np.uint8)).save(path)
