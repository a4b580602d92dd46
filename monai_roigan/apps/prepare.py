"""Prepare a class-labelled ROI dataset from a mammogram datalist, and the ``roigan-prepare-rois`` command.

Each source mammogram is loaded once (:class:`~monai_roigan.transforms.LoadMammogram`). Lesion rows give one
ROI at their centre (from the annotation, or from a lesion mask via
:class:`~monai_roigan.transforms.MaskToCenterd`); rows without a centre are skipped and counted, never
guessed. Normal images give ``normal_per_image`` ROIs at random centres whose whole window lies inside the
breast (:func:`~monai_roigan.transforms.sample_normal_centers`), drawn from a stream seeded by ``seed`` and
the image name, so the same seed gives the same ROIs in any order. Optional dihedral augmentation
(``rot90``: 4 rotations; ``dihedral``: rotations and their mirror images) multiplies each ROI, as the paper did
to reach hundreds of MIAS ROIs. Augment *after* splitting by mammogram for evaluation; the cache keeps the
``groups`` field (the patient: :func:`patient_group`) for that.
"""

from __future__ import annotations

import argparse
import logging
import os
from collections import defaultdict
from collections.abc import Sequence
from os import PathLike
from pathlib import Path

from monai_roigan.data.classes import ALL_CLASSES, NORMAL_CLASS
from monai_roigan.data.datasets import DATASETS, dataset_datalist
from monai_roigan.data.dihedral import AUGMENT_MODES, dihedral_variants
from monai_roigan.data.roi_cache import ROICache, write_roi_cache
from monai_roigan.transforms.breast import sample_normal_centers
from monai_roigan.transforms.io import LoadMammogram
from monai_roigan.transforms.roi import ExtractROI, MaskToCenterd
from monai_roigan.utils.cli import DefaultsHelpFormatter, configure_cli_logging
from monai_roigan.utils.progress import progress
from monai_roigan.utils.seeding import derived_rng

__all__ = ["prepare_roi_dataset", "main"]

logger = logging.getLogger("monai_roigan.prepare")

#: the datasets whose folder must be given (the phantom's is written when absent, an annotation table's images are
#: found beside the table by default)
_NEEDS_DATASET_DIR = ("mias", "cbis-ddsm")
_DEFAULT_PHANTOM_DIR = "phantom_mias"


def _group_by_image(datalist: Sequence[dict]) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = defaultdict(list)
    for entry in datalist:
        groups[str(entry["image"])].append(entry)
    return groups


def _roi_requests(image, entries, normal_per_image, roi_size, seed, mask_to_center, skipped) -> list[dict]:
    """One request (entry with a centre) per ROI to cut from this image."""
    requests = []
    for entry in entries:
        if entry.get("mask"):
            found = mask_to_center({**entry, "image": image})
            entry = {**entry, "center": found["center"], "radius": found["radius"]}
        if entry.get("center") is not None:
            requests.append(entry)
        elif entry.get("class_name") == NORMAL_CLASS:
            rng = derived_rng(seed, "normal", os.path.basename(str(entry["image"])))
            centers = sample_normal_centers(image[0].numpy(), normal_per_image, roi_size, rng)
            requests += [{**entry, "center": list(c), "radius": None} for c in centers]
        else:
            skipped[entry.get("class_name", "?")] += 1
    return requests


def prepare_roi_dataset(
    datalist: Sequence[dict],
    output: str | PathLike,
    class_names: Sequence[str] = ALL_CLASSES,
    roi_size: int = 128,
    output_size: int = 64,
    median_radius: int | None = 1,
    adaptive: bool = False,
    normal_per_image: int = 2,
    augment: str = "none",
    seed: int = 0,
    output_format: str = "npz",
    verbose: bool = True,
) -> dict:
    """Cut, denoise, resize and scale the ROIs of ``datalist`` and write the ROI cache.

    Args:
        datalist: entries from :func:`mias_datalist`, :func:`cbis_ddsm_datalist` or :func:`annotation_datalist`
            (``image``, ``label``, ``class_name``, ``center`` or ``mask``, optional ``radius``).
        output: ``.npz`` file or NIfTI folder.
        class_names: class order of the labels in ``datalist``.
        roi_size, output_size, median_radius, adaptive: :class:`~monai_roigan.transforms.ExtractROI` options.
        normal_per_image: ROIs sampled per normal mammogram (0 drops normals).
        augment: ``"none"``, ``"rot90"`` or ``"dihedral"``.
        seed: seed of normal-ROI sampling.
        output_format: ``"npz"`` or ``"nifti"``.
        verbose: log the per-class summary (:func:`format_summary`) at INFO; otherwise at DEBUG. Progress over
            the mammograms is logged (or shown as a bar on a terminal) either way, see
            :func:`~monai_roigan.utils.progress.progress`.

    Returns:
        Summary dict: ``output``, ``counts`` (ROIs per class), ``skipped_without_center`` (per class),
        ``num_images``, ``num_rois``.
    """
    if augment not in AUGMENT_MODES:
        raise ValueError(f"augment must be one of {AUGMENT_MODES}, got {augment!r}")
    loader = LoadMammogram()
    extractor = ExtractROI(roi_size, output_size, median_radius, adaptive)
    mask_to_center = MaskToCenterd("mask")
    manifest = dict(
        roi_size=roi_size,
        output_size=output_size,
        median_radius=median_radius,
        adaptive=adaptive,
        normal_per_image=normal_per_image,
        augment=augment,
        seed=seed,
        groups="patient",
    )
    cache = ROICache(class_names=list(class_names), manifest=manifest)
    skipped: dict[str, int] = defaultdict(int)
    by_image = _group_by_image(datalist)
    for path, entries in progress(
        by_image.items(), f"ROIs from mammograms into {output}", len(by_image), logger, "mammograms"
    ):
        image = loader(path)
        for request in _roi_requests(image, entries, normal_per_image, roi_size, seed, mask_to_center, skipped):
            _add_roi(cache, extractor(image, request["center"], request.get("radius")), request, augment)
    write_roi_cache(cache, output, output_format)
    summary = {
        "output": str(output),
        "counts": cache.counts(),
        "skipped_without_center": dict(skipped),
        "num_images": len(by_image),
        "num_rois": len(cache.labels),
    }
    logger.log(logging.INFO if verbose else logging.DEBUG, "%s", format_summary(summary))
    return summary


def _add_roi(cache: ROICache, roi, request: dict, augment: str) -> None:
    spacing = roi.meta["roi_spacing"]
    for name, variant in dihedral_variants(roi.numpy(), augment):
        cache.images.append(variant)
        cache.labels.append(int(request["label"]))
        cache.sources.append(str(request["image"]))
        cache.groups.append(patient_group(request))
        cache.centers.append(tuple(roi.meta["roi_center"]))
        cache.windows.append(int(roi.meta["roi_window"]))
        cache.spacing_mm.append(float("nan") if isinstance(spacing, str) else float(spacing))
        cache.augmentation.append(name)


def patient_group(entry: dict) -> str:
    """The unit every split keeps together: the patient (``patient_id``: CBIS-DDSM, the woman of an MIAS pair;
    ``patient_key``: a DICOM datalist), else the mammogram (``refnum``, else the image file's stem)."""
    for key in ("patient_id", "patient_key", "refnum"):
        if entry.get(key):
            return str(entry[key])
    return Path(str(entry["image"])).stem


def format_summary(summary: dict) -> str:
    """Per-class ROI counts as a small text table."""
    lines = [
        f"ROIs written to {summary['output']} from {summary['num_images']} mammograms",
        f"{'class':<26}{'ROIs':>6}",
    ]
    lines += [f"{name:<26}{count:>6}" for name, count in summary["counts"].items()]
    lines.append(f"{'total':<26}{summary['num_rois']:>6}")
    for name, count in summary["skipped_without_center"].items():
        lines.append(f"skipped (no centre): {count} {name} annotation(s)")
    return "\n".join(lines)


def _datalist_from_args(args) -> list[dict]:
    return dataset_datalist(
        args.dataset,
        args.dataset_dir,
        args.csv,
        include_normal=args.normal_per_image > 0,
        cbis_shape_classes=args.cbis_shape_classes,
        strict=args.strict,
        num_phantom_images=args.num_images,
        seed=args.seed,
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``roigan-prepare-rois`` argument parser (``--help`` shows every default)."""
    p = argparse.ArgumentParser(
        prog="roigan-prepare-rois",
        formatter_class=DefaultsHelpFormatter,
        description="Cut class-labelled ROIs (64x64 by default) from a mammogram dataset into an ROI cache. "
        "Progress and the ROIs per class are logged on stderr.",
    )
    p.add_argument(
        "--dataset",
        choices=DATASETS,
        required=True,
        help="Which dataset to read (required); 'phantom' writes a synthetic MIAS-layout phantom first.",
    )
    p.add_argument(
        "--dataset_dir",
        default=None,
        help="The dataset's folder; required for mias and cbis-ddsm. For phantom, the folder the phantom is "
        f"written to (created if absent; default ./{_DEFAULT_PHANTOM_DIR}); for annotations, the folder "
        "the table's image paths are relative to (default: the table's folder).",
    )
    p.add_argument(
        "--csv",
        nargs="*",
        default=[],
        help="CBIS-DDSM case-description CSVs (none given: every *case_description*.csv in --dataset_dir), "
        "or the one annotation table of --dataset annotations.",
    )
    p.add_argument(
        "--output", default="rois.npz", help="ROI cache to write: an .npz file, or a folder with --format nifti."
    )
    p.add_argument(
        "--format",
        dest="output_format",
        choices=("npz", "nifti"),
        default="npz",
        help="Cache format: one .npz file, or one .nii.gz per ROI plus datalist.json.",
    )
    p.add_argument(
        "--num_images", type=int, default=60, help="Phantom mammograms to generate (--dataset phantom only)."
    )
    p.add_argument("--seed", type=int, default=0, help="Seed of the phantom and of the normal-tissue ROI centres.")
    p.add_argument(
        "--roi_size", type=int, default=128, help="Side in source pixels of the window cut around each centre."
    )
    p.add_argument("--output_size", type=int, default=64, help="Side in pixels of the ROIs written to the cache.")
    p.add_argument("--median_radius", type=int, default=1, help="Radius of the median denoising filter; 0 disables it.")
    p.add_argument(
        "--adaptive", action="store_true", help="Enlarge the window for lesions too large to fit in --roi_size."
    )
    p.add_argument(
        "--normal_per_image",
        type=int,
        default=2,
        help="Normal-tissue ROIs sampled per normal mammogram; 0 drops normal tissue.",
    )
    p.add_argument(
        "--augment",
        choices=AUGMENT_MODES,
        default="none",
        help="Dihedral copies of each ROI: none, rot90 (4 rotations) or dihedral (also mirrored).",
    )
    p.add_argument(
        "--cbis_shape_classes",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="CBIS-DDSM masses shaped as architectural distortion or asymmetry get those classes.",
    )
    p.add_argument(
        "--strict", action="store_true", help="Fail on annotations whose image is missing instead of skipping them."
    )
    return p


def _check_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Usage errors argparse cannot see alone, before anything is read or written."""
    if args.dataset == "annotations" and len(args.csv) != 1:
        parser.error("--dataset annotations needs one --csv table")
    if args.dataset_dir is None:
        if args.dataset in _NEEDS_DATASET_DIR:
            parser.error(f"--dataset {args.dataset} needs --dataset_dir (the folder holding the {args.dataset} data)")
        args.dataset_dir = Path(args.csv[0]).parent if args.dataset == "annotations" else _DEFAULT_PHANTOM_DIR


def main(argv: Sequence[str] | None = None) -> int:
    """``roigan-prepare-rois --dataset D --dataset_dir DIR --output rois.npz``: write the ROI cache."""
    configure_cli_logging()
    parser = build_parser()
    args = parser.parse_args(argv)
    _check_args(parser, args)
    prepare_roi_dataset(
        _datalist_from_args(args),
        args.output,
        roi_size=args.roi_size,
        output_size=args.output_size,
        median_radius=args.median_radius or None,
        adaptive=args.adaptive,
        normal_per_image=args.normal_per_image,
        augment=args.augment,
        seed=args.seed,
        output_format=args.output_format,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
