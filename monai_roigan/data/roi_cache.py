"""The ROI cache: prepared, class-labelled ROIs on disk, as NumPy ``.npz`` (as the paper did) or NIfTI.

NPZ layout (one file, written atomically: temporary file then rename):

===============  ==============  ==============================================================
key              shape, dtype    meaning
===============  ==============  ==============================================================
images           (N, 1, S, S) f4  ROIs, intensities in [-1, 1] (linear map of [0, 1] mammogram)
labels           (N,) i8          index into ``class_names``
class_names      (K,) str         class order
sources          (N,) str         source mammogram path
groups           (N,) str         source patient id (a woman), for splitting by patient
centers          (N, 2) i4        ROI centre (row, col), top-left pixels of the source
windows          (N,) i4          crop side in source pixels
spacing_mm       (N,) f4          mm per ROI pixel (NaN if the source spacing is unknown)
augmentation     (N,) str         ``r{0,90,180,270}`` plus ``-flip`` for dihedral copies
manifest         () str           JSON: the preparation parameters
===============  ==============  ==============================================================

NIfTI layout: a folder with ``rois/roi_000000.nii.gz`` ... (2-D, axes (row, col), float32 in [-1, 1]) and
``datalist.json`` holding the same per-ROI fields, ready for a MONAI ``Dataset`` with ``LoadImaged``.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

import nibabel as nib
import numpy as np
import torch
from monai.data import MetaTensor

from monai_roigan.utils.atomic import atomic_write

__all__ = ["ROICache", "write_roi_cache", "load_roi_cache", "roi_cache_datalist"]


@dataclass
class ROICache:
    """ROIs held in memory, one entry per ROI in every per-ROI list (see the module docstring)."""

    class_names: list[str]
    images: list[np.ndarray] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    centers: list[tuple[int, int]] = field(default_factory=list)
    windows: list[int] = field(default_factory=list)
    spacing_mm: list[float] = field(default_factory=list)
    augmentation: list[str] = field(default_factory=list)
    manifest: dict = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        """Number of ROIs per class name, in class order."""
        found = np.bincount(np.asarray(self.labels, dtype=np.int64), minlength=len(self.class_names))
        return {name: int(n) for name, n in zip(self.class_names, found)}

    def arrays(self) -> dict[str, np.ndarray]:
        size = self.images[0].shape[-1] if self.images else 0
        return {
            "images": np.stack(self.images).astype(np.float32)
            if self.images
            else np.zeros((0, 1, size, size), np.float32),
            "labels": np.asarray(self.labels, dtype=np.int64),
            "class_names": np.asarray(self.class_names, dtype=str),
            "sources": np.asarray(self.sources, dtype=str),
            "groups": np.asarray(self.groups, dtype=str),
            "centers": np.asarray(self.centers, dtype=np.int32).reshape(-1, 2),
            "windows": np.asarray(self.windows, dtype=np.int32),
            "spacing_mm": np.asarray(self.spacing_mm, dtype=np.float32),
            "augmentation": np.asarray(self.augmentation, dtype=str),
            "manifest": np.asarray(json.dumps(self.manifest)),
        }


def _savez(path: str, arrays: dict[str, np.ndarray]) -> None:
    with open(path, "wb") as f:  # a file object: np.savez would append ".npz" to a bare temporary name
        np.savez_compressed(f, **arrays)


def write_roi_cache(cache: ROICache, path: str | PathLike, output_format: str = "npz") -> Path:
    """Write ``cache`` as ``.npz`` (``path`` is the file) or ``nifti`` (``path`` is a folder)."""
    path = Path(path)
    arrays = cache.arrays()
    if output_format == "npz":
        atomic_write(path, lambda tmp: _savez(tmp, arrays))
        return path
    if output_format != "nifti":
        raise ValueError(f"output_format must be 'npz' or 'nifti', got {output_format!r}")
    (path / "rois").mkdir(parents=True, exist_ok=True)
    items = []
    for i, image in enumerate(arrays["images"]):
        spacing = float(arrays["spacing_mm"][i]) if np.isfinite(arrays["spacing_mm"][i]) else 1.0
        name = f"rois/roi_{i:06d}.nii.gz"
        nib.save(nib.Nifti1Image(image[0], np.diag([spacing, spacing, 1.0, 1.0])), str(path / name))
        items.append({"image": name, **_item_fields(arrays, i)})
    datalist = {"class_names": cache.class_names, "manifest": cache.manifest, "items": items}
    atomic_write(path / "datalist.json", lambda tmp: Path(tmp).write_text(json.dumps(datalist, indent=1)))
    return path


def _item_fields(arrays: dict[str, np.ndarray], i: int) -> dict:
    label = int(arrays["labels"][i])
    spacing = float(arrays["spacing_mm"][i])
    return {
        "label": label,
        "class_name": str(arrays["class_names"][label]),
        "source": str(arrays["sources"][i]),
        "group": str(arrays["groups"][i]),
        "center": [int(v) for v in arrays["centers"][i]],
        "window": int(arrays["windows"][i]),
        "spacing_mm": spacing if np.isfinite(spacing) else None,
        "augmentation": str(arrays["augmentation"][i]),
    }


def load_roi_cache(path: str | PathLike) -> dict[str, np.ndarray]:
    """Load an ``.npz`` ROI cache as a dict of arrays (``manifest`` decoded to a dict).

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is not an ROI cache (missing keys, not an npz, or it holds pickled objects), naming
            the file.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such ROI cache")
    try:
        with np.load(path, allow_pickle=False) as data:  # object arrays (pickles) are refused
            arrays = {k: data[k] for k in data.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as err:
        raise ValueError(f"{path}: unreadable or unsafe ROI cache ({type(err).__name__}: {err})") from None
    missing = {"images", "labels", "class_names", "sources", "groups"} - set(arrays)
    if missing:
        raise ValueError(f"{path}: not a monai-roigan ROI cache (missing {sorted(missing)})")
    arrays["manifest"] = json.loads(str(arrays.get("manifest", "{}")))
    return arrays


def roi_cache_datalist(path: str | PathLike, classes: Sequence[str] | None = None) -> list[dict]:
    """ROI cache as a MONAI datalist: ``{"image": MetaTensor (1, S, S) in [-1, 1], "label": int, ...}``.

    Every field is collatable by MONAI's ``DataLoader``: an unknown ``spacing_mm`` is NaN, not None.

    Args:
        path: an ``.npz`` cache.
        classes: keep only these class names (labels keep the cache's numbering).
    """
    arrays = load_roi_cache(path)
    keep = None if classes is None else {list(arrays["class_names"]).index(c) for c in classes}
    items = []
    for i, image in enumerate(arrays["images"]):
        fields = _item_fields(arrays, i)
        if fields["spacing_mm"] is None:  # unknown spacing (CBIS-DDSM, DICOM without PixelSpacing): NaN collates
            fields["spacing_mm"] = float("nan")
        if keep is not None and fields["label"] not in keep:
            continue
        meta = {"source_path": fields["source"], "roi_center": fields["center"], "class_name": fields["class_name"]}
        items.append({"image": MetaTensor(torch.from_numpy(image.copy()), meta=meta), **fields})
    return items
