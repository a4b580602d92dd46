"""ROI extraction (the paper's Algorithm 1: denoise, crop, resize) and ROI centres from lesion masks.

Conventions: images are channel-first (1, H, W) with intensities in [0, 1]; centres are (row, col) in
top-left pixel coordinates of that image; sizes are in pixels of the source image.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

import numpy as np
import torch
from monai.config import NdarrayOrTensor
from monai.data import MetaTensor
from monai.transforms import MedianSmooth, Resize, Transform
from monai.utils import convert_to_numpy, convert_to_tensor

__all__ = ["ExtractROI", "MaskToCenter", "crop_centered", "roi_window_size"]


def roi_window_size(roi_size: int, radius: float | None, adaptive: bool, margin: float) -> int:
    """Side of the crop window: ``roi_size``, or ``max(roi_size, 2 * margin * radius)`` when adaptive."""
    if not adaptive or radius is None:
        return int(roi_size)
    return max(int(roi_size), int(math.ceil(2 * margin * float(radius))))


def crop_centered(img: torch.Tensor, center: Sequence[int], size: int, pad_value: float = 0.0) -> torch.Tensor:
    """Crop a ``size`` x ``size`` window centred on ``center`` from a (C, H, W) tensor.

    The window is never shifted to fit: parts outside the image are filled with ``pad_value``, so the lesion
    stays at the ROI centre. For even sizes the centre pixel is at index ``size // 2``.
    """
    _, h, w = img.shape
    top, left = int(center[0]) - size // 2, int(center[1]) - size // 2
    out = torch.full((img.shape[0], size, size), pad_value, dtype=img.dtype, device=img.device)
    r0, r1 = max(top, 0), min(top + size, h)
    c0, c1 = max(left, 0), min(left + size, w)
    if r1 > r0 and c1 > c0:
        out[:, r0 - top : r1 - top, c0 - left : c1 - left] = img[:, r0:r1, c0:c1]
    return out


class ExtractROI(Transform):
    """Cut a lesion-centred ROI from a mammogram, denoise, resize and scale it to [-1, 1].

    Steps (Algorithm 1 of the paper, with the order made explicit):

    1. crop a ``roi_size`` square (or, with ``adaptive=True``, ``max(roi_size, 2 * margin * radius)``)
       centred on the lesion, padding with ``pad_value`` outside the image;
    2. optional median filter of ``median_radius`` (MONAI :class:`~monai.transforms.MedianSmooth`;
       ``None`` or 0 disables it);
    3. resize to ``output_size`` with area averaging (MONAI :class:`~monai.transforms.Resize`);
    4. map [0, 1] linearly to ``output_range`` (default [-1, 1], the generator's tanh range). The map is fixed,
       not per-ROI min-max, so relative density between ROIs is preserved.

    Args:
        roi_size: crop side in source pixels (paper: 128; 25.6 mm on MIAS).
        output_size: output side in pixels (paper: 64).
        median_radius: median filter radius in pixels (1 gives a 3x3 filter).
        adaptive: enlarge the window for lesions with ``radius`` larger than ``roi_size / (2 * margin)``.
        margin: window side over lesion diameter for ``adaptive``.
        output_range: intensity range of the output.
        pad_value: fill value in [0, 1] outside the image (0: film background).

    Returns (from ``__call__``): MetaTensor (1, output_size, output_size) float32 whose meta holds
    ``roi_center`` (row, col), ``roi_window`` (source pixels), ``roi_spacing`` (mm per output pixel or
    ``"unknown"``), the source image's meta, and:

    - ``affine``: the ROI's own pixel grid in the source image's world coordinates (the source affine scaled
      by ``window / output_size`` and moved to the window's corner), so ``SaveImage`` writes NIfTI with the
      ROI spacing (0.4 mm for a 128-pixel window of a 0.2 mm MIAS film cut to 64);
    - ``filename_or_obj``: ``<mammogram stem>_roi_r<row>_c<col><suffix>``, one name per ROI, so two ROIs of
      one film saved by ``SaveImage`` do not overwrite each other; ``source_path`` keeps the mammogram's path.
    """

    def __init__(
        self,
        roi_size: int = 128,
        output_size: int = 64,
        median_radius: int | None = 1,
        adaptive: bool = False,
        margin: float = 1.25,
        output_range: tuple[float, float] = (-1.0, 1.0),
        pad_value: float = 0.0,
    ):
        if roi_size < 1 or output_size < 1:
            raise ValueError(f"roi_size and output_size must be positive, got {roi_size}, {output_size}")
        self.roi_size, self.output_size = int(roi_size), int(output_size)
        self.median = MedianSmooth(radius=median_radius) if median_radius else None
        self.resize = Resize((self.output_size, self.output_size), mode="area")
        self.adaptive, self.margin = adaptive, margin
        self.output_range, self.pad_value = output_range, pad_value

    def __call__(self, img: NdarrayOrTensor, center: Sequence[int], radius: float | None = None) -> MetaTensor:
        image = convert_to_tensor(img, track_meta=True, dtype=torch.float32)
        meta = dict(image.meta) if isinstance(image, MetaTensor) else {}
        source = meta.get("source_path", meta.get("filename_or_obj", "<array>"))
        if image.ndim != 3 or image.shape[0] != 1:
            raise ValueError(f"{source}: ExtractROI expects a (1, H, W) image, got shape {tuple(image.shape)}")
        row, col = _checked_center(center, image.shape[1:], source)
        window = roi_window_size(self.roi_size, radius, self.adaptive, self.margin)
        roi = crop_centered(
            image.as_tensor() if isinstance(image, MetaTensor) else image, (row, col), window, self.pad_value
        )
        if self.median is not None:
            roi = self.median(roi)
        roi = convert_to_tensor(self.resize(roi), track_meta=False)
        lo, hi = self.output_range
        roi = roi * (hi - lo) + lo
        meta.update(roi_center=(row, col), roi_window=window, roi_spacing=_roi_spacing(meta, window, self.output_size))
        meta["affine"] = roi_affine(
            meta.get("affine"), (row - window // 2, col - window // 2), window / self.output_size
        )
        meta["filename_or_obj"] = roi_file_name(str(meta.get("filename_or_obj", source)), row, col)
        meta["spatial_shape"] = np.array([self.output_size, self.output_size])
        return MetaTensor(roi.float(), meta=meta)


def roi_affine(source_affine, corner: Sequence[int], scale: float) -> torch.Tensor:
    """Affine of an ROI cut at ``corner`` (top, left source pixels) and resized by 1 / ``scale``.

    ROI pixel ``i`` covers source pixels ``corner + i * scale`` to ``corner + (i + 1) * scale``, so its centre
    is at source index ``corner - 0.5 + (i + 0.5) * scale``. ``source_affine`` ((d+1) x (d+1), the first two
    axes being rows and columns) maps source indices to world millimetres; None means pixel units (3x3 identity).
    """
    affine = torch.eye(3, dtype=torch.float64) if source_affine is None else torch.as_tensor(source_affine).double()
    out = affine.clone()
    out[:, :2] = affine[:, :2] * scale
    offset = torch.tensor([c - 0.5 + 0.5 * scale for c in corner], dtype=torch.float64)
    out[:-1, -1] = affine[:-1, :2] @ offset + affine[:-1, -1]
    return out


def roi_file_name(path: str, row: int, col: int) -> str:
    """``dir/stem_roi_r<row>_c<col>.ext`` for the mammogram ``dir/stem.ext``: one file name per ROI."""
    head, tail = os.path.split(path)
    stem, ext = os.path.splitext(tail)
    return os.path.join(head, f"{stem}_roi_r{row}_c{col}{ext}")


def _checked_center(center, shape, source) -> tuple[int, int]:
    if center is None or len(center) != 2:
        raise ValueError(f"{source}: ROI centre must be (row, col), got {center!r}")
    row, col = int(round(float(center[0]))), int(round(float(center[1])))
    if not (0 <= row < shape[0] and 0 <= col < shape[1]):
        raise ValueError(f"{source}: ROI centre (row={row}, col={col}) is outside the {shape[0]}x{shape[1]} image")
    return row, col


def _roi_spacing(meta: dict, window: int, output_size: int):
    spacing = meta.get("spacing")
    if spacing is None or isinstance(spacing, str):
        return "unknown"
    row_mm = float(spacing[0]) if isinstance(spacing, (tuple, list, np.ndarray, torch.Tensor)) else float(spacing)
    return row_mm * window / output_size


class MaskToCenter(Transform):
    """Lesion centre and radius from a binary ROI mask (CBIS-DDSM style), in the image's pixel grid.

    The centre is the centroid of the mask's non-zero pixels; the radius is half the larger side of their
    bounding box. When the mask's shape differs from ``image_shape`` (a mask exported at another resolution)
    coordinates are scaled per axis.

    Returns (from ``__call__``): ``((row, col), radius)`` as ints.

    Raises:
        ValueError: the mask is empty or not binary (more than two distinct values), naming the source.
    """

    def __call__(self, mask: NdarrayOrTensor, image_shape: Sequence[int] | None = None) -> tuple[tuple[int, int], int]:
        source = mask.meta.get("source_path", "<array>") if isinstance(mask, MetaTensor) else "<array>"
        array = convert_to_numpy(mask)
        array = array[0] if array.ndim == 3 else array
        values = np.unique(array)
        if values.size > 2:
            raise ValueError(f"{source}: ROI mask is not binary ({values.size} distinct values)")
        rows, cols = np.nonzero(array > values.min()) if values.size == 2 else (np.array([]), np.array([]))
        if rows.size == 0:
            raise ValueError(f"{source}: ROI mask is empty")
        scale = (
            (1.0, 1.0) if image_shape is None else (image_shape[-2] / array.shape[0], image_shape[-1] / array.shape[1])
        )
        center = (int(round(rows.mean() * scale[0])), int(round(cols.mean() * scale[1])))
        extent = max((rows.max() - rows.min() + 1) * scale[0], (cols.max() - cols.min() + 1) * scale[1])
        return center, int(math.ceil(extent / 2))
