"""One dispatcher from a dataset name to its datalist: ``phantom``, ``mias``, ``cbis-ddsm`` or ``annotations``.

Every entry point that takes ``--dataset`` (the ROI preparation command, the training bundle, evaluation)
calls :func:`dataset_datalist`, so a dataset name means the same thing everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike
from pathlib import Path

from monai_roigan.data.annotations import annotation_datalist
from monai_roigan.data.cbis_ddsm import CBIS_SHAPE_CLASSES, cbis_ddsm_datalist
from monai_roigan.data.mias import mias_datalist
from monai_roigan.data.phantom import make_phantom_dataset

__all__ = ["DATASETS", "dataset_datalist"]

#: the dataset names :func:`dataset_datalist` knows
DATASETS = ("phantom", "mias", "cbis-ddsm", "annotations")


def dataset_datalist(
    dataset: str,
    dataset_dir: str | PathLike,
    csv_paths: Sequence[str | PathLike] = (),
    include_normal: bool = True,
    cbis_shape_classes: bool = True,
    strict: bool = False,
    num_phantom_images: int = 60,
    seed: int = 0,
) -> list[dict]:
    """The datalist of a dataset folder (one dict per annotation; see the readers in :mod:`monai_roigan.data`).

    Args:
        dataset: ``"phantom"`` (written into ``dataset_dir`` first, if it is not there yet, then read as MIAS),
            ``"mias"``, ``"cbis-ddsm"`` or ``"annotations"`` (a table of image paths, classes and centres).
        dataset_dir: the dataset's folder.
        csv_paths: CBIS-DDSM case-description CSVs (default: every ``*case_description*.csv`` in ``dataset_dir``),
            or the one annotation table of ``"annotations"``.
        include_normal: keep the normal mammograms (MIAS and the phantom), for normal-tissue ROIs.
        cbis_shape_classes: CBIS-DDSM masses whose shape is an architectural distortion or an asymmetry get
            those classes (:data:`~monai_roigan.data.CBIS_SHAPE_CLASSES`) instead of ``mass``.
        strict: fail on annotations whose image file is missing (otherwise they are skipped with a warning).
        num_phantom_images, seed: the phantom's size and seed.

    Raises:
        ValueError: an unknown dataset name, or ``"annotations"`` without its table.
    """
    dataset_dir = Path(dataset_dir)
    if dataset == "phantom":
        make_phantom_dataset(dataset_dir, num_images=num_phantom_images, seed=seed)
    if dataset in ("phantom", "mias"):
        return mias_datalist(dataset_dir, include_normal=include_normal, strict=strict)
    if dataset == "cbis-ddsm":
        csv_paths = list(csv_paths) or sorted(str(p) for p in dataset_dir.glob("*case_description*.csv"))
        shapes = CBIS_SHAPE_CLASSES if cbis_shape_classes else None
        return cbis_ddsm_datalist(csv_paths, dataset_dir, mass_shape_classes=shapes, strict=strict)
    if dataset == "annotations":
        if len(csv_paths) != 1:
            raise ValueError(f"dataset 'annotations' needs exactly one annotation table, got {list(csv_paths)}")
        return annotation_datalist(csv_paths[0], dataset_dir, strict=strict)
    raise ValueError(f"dataset must be one of {DATASETS}, got {dataset!r}")
