"""The GAN's training set: an ROI cache built on first use from the phantom, MIAS or CBIS-DDSM.

:func:`training_rois` is what the bundle calls. With ``dataset_dir=None`` it generates the phantom into
``cache_dir/phantom`` and cuts its ROIs; with a MIAS folder (``dataset="mias"``) or a CBIS-DDSM folder plus
CSVs (``dataset="cbis-ddsm"``) it cuts theirs; with ``datalist`` (a JSON from ``roigan-dicom-datalist``, e.g. a
hospital DICOM export) it cuts the ROIs the datalist names. The cache file name encodes every parameter, so a changed
setting builds a new cache and an unchanged one is reused.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from os import PathLike
from pathlib import Path

import numpy as np

from monai_roigan.apps.prepare import prepare_roi_dataset
from monai_roigan.data.classes import ABNORMALITY_CLASSES, ALL_CLASSES
from monai_roigan.data.datalist import read_datalist_file
from monai_roigan.data.datasets import dataset_datalist
from monai_roigan.data.roi_cache import roi_cache_datalist
from monai_roigan.data.splits import split_datalist
from monai_roigan.utils.distributed import rank_zero_first
from monai_roigan.utils.errors import ConfigurationError

__all__ = ["training_rois", "training_datalist", "background_share", "drop_background_rois", "BACKGROUND_LEVEL"]

#: intensities at or below this level of the [-1, 1] range are film background or padding (5% of full scale)
BACKGROUND_LEVEL = -0.9

logger = logging.getLogger("monai_roigan.training_data")


def training_rois(
    cache_dir: str | PathLike,
    dataset_dir: str | PathLike | None = None,
    dataset: str = "mias",
    csv_paths: Sequence[str] = (),
    num_phantom_images: int = 120,
    seed: int = 0,
    roi_size: int = 128,
    output_size: int = 64,
    augment: str = "none",
    normal_per_image: int = 0,
    strict: bool = False,
    datalist: str | PathLike | None = None,
) -> Path:
    """Path of the ROI cache (``.npz``) to train on, preparing it if needed.

    Args:
        cache_dir: where the phantom and the ROI caches live.
        dataset_dir: a MIAS or CBIS-DDSM folder; None for the embedded phantom.
        dataset: ``"mias"`` (also the phantom's layout) or ``"cbis-ddsm"``.
        csv_paths: CBIS-DDSM case CSVs (default: every ``*case_description*.csv`` in ``dataset_dir``).
        num_phantom_images: phantom size when ``dataset_dir`` is None.
        seed: phantom and normal-ROI seed.
        roi_size, output_size, augment, normal_per_image: ROI preparation options.
        strict: fail on annotations whose image is missing.
        datalist: a datalist JSON (e.g. from ``roigan-dicom-datalist``) to cut ROIs from instead of a dataset
            folder; entries need ``image``, ``center`` ([row, col] top-left), ``class_name`` and ``label``.
    """
    cache_dir = Path(cache_dir)
    with rank_zero_first():  # under torchrun rank 0 builds the cache, the others then reuse it
        if datalist is not None:
            return _rois_from_datalist_file(
                cache_dir, Path(datalist), seed, roi_size, output_size, augment, normal_per_image
            )
        return _dataset_rois(
            cache_dir,
            dataset_dir,
            dataset,
            csv_paths,
            num_phantom_images,
            seed,
            roi_size,
            output_size,
            augment,
            normal_per_image,
            strict,
        )


def _dataset_rois(
    cache_dir,
    dataset_dir,
    dataset,
    csv_paths,
    num_phantom_images,
    seed,
    roi_size,
    output_size,
    augment,
    normal_per_image,
    strict,
) -> Path:
    if dataset_dir is None:
        dataset_dir, dataset = cache_dir / "phantom", "phantom"
    dataset_dir = Path(dataset_dir)
    params = dict(
        dataset=dataset,
        dataset_dir=str(dataset_dir.resolve()),
        csv=list(csv_paths),
        seed=seed,
        roi_size=roi_size,
        output_size=output_size,
        augment=augment,
        normal_per_image=normal_per_image,
        groups="patient",
    )
    if dataset == "phantom":
        params["num_phantom_images"] = num_phantom_images
    key = hashlib.sha1(json.dumps(params, sort_keys=True).encode()).hexdigest()[:12]
    path = cache_dir / f"rois_{dataset}_{key}.npz"
    if path.is_file():
        logger.info("training ROIs: reusing the cache %s", path)
        return path
    logger.info("training ROIs: building the cache %s from the %s dataset in %s", path, dataset, dataset_dir)
    datalist = dataset_datalist(
        dataset,
        dataset_dir,
        csv_paths,
        include_normal=normal_per_image > 0,
        strict=strict,
        num_phantom_images=num_phantom_images,
        seed=seed,
    )
    logger.info("training ROIs: %d annotations in the datalist of %s", len(datalist), dataset_dir)
    prepare_roi_dataset(
        datalist,
        path,
        roi_size=roi_size,
        output_size=output_size,
        augment=augment,
        normal_per_image=normal_per_image,
        seed=seed,
    )
    return path


def _rois_from_datalist_file(cache_dir: Path, datalist: Path, seed, roi_size, output_size, augment, normal_per_image):
    entries = read_datalist_file(datalist)
    params = dict(
        datalist=hashlib.sha1(datalist.read_bytes()).hexdigest(),
        seed=seed,
        roi_size=roi_size,
        output_size=output_size,
        augment=augment,
        normal_per_image=normal_per_image,
        groups="patient",
    )
    path = cache_dir / f"rois_datalist_{hashlib.sha1(json.dumps(params, sort_keys=True).encode()).hexdigest()[:12]}.npz"
    if path.is_file():
        logger.info("training ROIs: reusing the cache %s", path)
        return path
    logger.info("training ROIs: building the cache %s from %d entries of %s", path, len(entries), datalist)
    prepare_roi_dataset(
        entries,
        path,
        roi_size=roi_size,
        output_size=output_size,
        augment=augment,
        normal_per_image=normal_per_image,
        seed=seed,
    )
    return path


def training_datalist(
    cache_path: str | PathLike,
    class_names: Sequence[str] = ABNORMALITY_CLASSES,
    image_size: int | None = None,
    holdout_fraction: float = 0.0,
    split_seed: int = 0,
    max_background_share: float | None = None,
) -> list[dict]:
    """The cache's ROIs of ``class_names`` as a datalist with labels renumbered 0..K-1 in that order.

    Args:
        cache_path: an ``.npz`` ROI cache.
        class_names: the classes to train, in label order.
        image_size: when given, every ROI must be (1, image_size, image_size).
        holdout_fraction: the share of each class's mammograms left out for evaluation
            (:func:`monai_roigan.data.splits.holdout_groups` with ``split_seed``); 0 keeps every ROI. The
            evaluation bundle must use the same two values to find the held-out mammograms.
        max_background_share: leave out ROIs more than this share of whose pixels are film background or padding
            (:func:`drop_background_rois`); None keeps them all.

    Raises:
        ConfigurationError: (a ``ValueError``) an unknown class name, a class without any ROI in the cache or
            after the hold-out (a generator cannot learn it), or ROIs of another size than ``image_size``; naming
            the class or file.
    """
    unknown = [c for c in class_names if c not in ALL_CLASSES]
    if unknown:
        raise ConfigurationError(f"unknown class name(s) {unknown}; expected names from {list(ALL_CLASSES)}")
    items = roi_cache_datalist(cache_path, classes=list(class_names))
    for item in items:
        item["label"] = list(class_names).index(item["class_name"])
    items = drop_background_rois(split_datalist(items, holdout_fraction, split_seed)[0], max_background_share)
    empty = [c for c in class_names if not any(i["class_name"] == c for i in items)]
    if empty:
        raise ConfigurationError(f"{cache_path}: no ROIs for class(es) {empty}; a generator cannot learn them")
    shapes = {tuple(i["image"].shape) for i in items}
    if image_size is not None and shapes != {(1, image_size, image_size)}:
        raise ConfigurationError(
            f"{cache_path}: ROIs of shape {sorted(shapes)}, the networks need (1, {image_size}, "
            f"{image_size}); prepare the ROIs with output_size={image_size}"
        )
    counts = ", ".join(f"{c} {sum(i['class_name'] == c for i in items)}" for c in class_names)
    logger.info("training ROIs: %d from %s (%s)", len(items), cache_path, counts)
    return items


def background_share(image) -> float:
    """Share of an ROI's pixels (in [-1, 1]) at or below :data:`BACKGROUND_LEVEL`: film background or padding."""
    return float(np.mean(np.asarray(image) <= BACKGROUND_LEVEL))


def drop_background_rois(items: list[dict], max_share: float | None) -> list[dict]:
    """``items`` without the ROIs whose :func:`background_share` exceeds ``max_share`` (None: all kept).

    A lesion ROI cut near the breast edge or the film border holds black background or padding, which a
    generator learns as a mode (black borders, dark squares). A class that would lose every ROI keeps them all
    (a warning says so): a generator cannot learn a class without examples.
    """
    if max_share is None:
        return items
    if not 0.0 < float(max_share) <= 1.0:
        raise ValueError(f"max_background_share must lie in (0, 1], got {max_share}")
    kept, dropped = [], {}
    for item in items:
        if background_share(item["image"]) > max_share:
            dropped.setdefault(item["class_name"], []).append(item)
        else:
            kept.append(item)
    for name, removed in dropped.items():
        if not any(i["class_name"] == name for i in kept):
            logger.warning(
                "training ROIs: every %s ROI holds more than %.0f%% background; keeping them all", name, 100 * max_share
            )
            kept.extend(removed)
        else:
            logger.info(
                "training ROIs: left out %d %s ROIs with more than %.0f%% background or padding",
                len(removed),
                name,
                100 * max_share,
            )
    return kept
