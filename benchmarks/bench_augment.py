"""Pipeline throughput with SyntheticROIAugmentd (prob 0.5) versus the same pipeline without it.

``--transform synthetic`` (the default) is the transform with its defaults: ROIs drawn from a pool generated when it
is built (512 per class). ``--transform synthetic_fresh`` generates a fresh ROI for every replacement
(``pool_size=None``), in the workers. ``--transform inserted`` measures ``InsertSyntheticLesiond`` (prob 0.5, a
context generator painting a lesion of a uniformly drawn class into each chosen ROI) instead; ``--model`` must then
be a context generator.

The pipeline is the one of MONAI's MedNIST classification tutorial applied to ROIs: NIfTI ROIs written by
``prepare_roi_dataset`` (the phantom's ROIs), ``LoadImaged``, ``EnsureChannelFirstd``, ``ScaleIntensityd``
(to [0, 1], so the transform runs with ``intensity_range=(0, 1)``), then ``RandRotated`` (15 degrees),
``RandFlipd`` and ``RandZoomd`` (0.9-1.1) at probability 0.5 each; batch 32, a MONAI ``DataLoader`` with 2
workers (not persistent), on the CPU. Both arms run in the same process: one warm-up epoch each, then
``--pairs`` pairs of adjacent epochs; the ratio is the median of the per-pair ratios. Goal: ratio >= 0.9.

Run (after training the bundle, or with --model pointing at any exported generator):
    python benchmarks/bench_augment.py --model bundle/models/model.pt
    python benchmarks/bench_augment.py --model /tmp/mias_ctx/models/model.pt --transform inserted
"""

from __future__ import annotations

import argparse
import contextlib
import json
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np
from monai.data import CacheDataset, DataLoader, Dataset
from monai.transforms import (
    Compose,
    EnsureChannelFirstd,
    LoadImaged,
    RandFlipd,
    RandRotated,
    RandZoomd,
    ScaleIntensityd,
)

from monai_roigan.apps import prepare_roi_dataset
from monai_roigan.data import ABNORMALITY_CLASSES, mias_datalist
from monai_roigan.data.phantom import make_phantom_dataset
from monai_roigan.transforms import InsertSyntheticLesiond, NormalCounterpartd, SyntheticROIAugmentd
from monai_roigan.utils import torch_threads

#: the augmentation transforms this benchmark can measure, by name
TRANSFORMS = {
    "synthetic": lambda model: SyntheticROIAugmentd("image", model, prob=0.5, intensity_range=(0.0, 1.0)),
    "synthetic_fresh": lambda model: SyntheticROIAugmentd(
        "image", model, prob=0.5, intensity_range=(0.0, 1.0), pool_size=None
    ),
    "inserted": lambda model: InsertSyntheticLesiond(
        "image",
        model,
        prob=0.5,
        class_names=ABNORMALITY_CLASSES,
        source_classes=ABNORMALITY_CLASSES,
        intensity_range=(0.0, 1.0),
    ),
    "counterpart": lambda model: NormalCounterpartd("image", model, intensity_range=(0.0, 1.0)),
}


def nifti_rois(folder: Path, num_images: int) -> list[dict]:
    """The phantom's abnormality ROIs as NIfTI files with a datalist (image path, label 0..3)."""
    phantom = make_phantom_dataset(folder / "phantom", num_images=num_images, seed=0)
    entries = [e for e in mias_datalist(phantom) if e["center"] is not None]
    prepare_roi_dataset(
        entries, folder / "rois", normal_per_image=0, augment="dihedral", output_format="nifti", verbose=False
    )
    items = json.loads((folder / "rois" / "datalist.json").read_text())["items"]
    return [
        {"image": str(folder / "rois" / i["image"]), "label": ABNORMALITY_CLASSES.index(i["class_name"])}
        for i in items
        if i["class_name"] in ABNORMALITY_CLASSES
    ]


def epoch_seconds(loader) -> float:
    """Seconds of one pass over ``loader`` (each batch touched, so the work is not deferred)."""
    start = time.perf_counter()
    for batch in loader:
        batch["image"].sum()
    return time.perf_counter() - start


def pipeline_ratio(
    model: Path,
    num_images: int = 120,
    workers: int = 2,
    pairs: int = 5,
    folder: Path | None = None,
    transform: str = "synthetic",
    persistent_workers: bool = False,
    cached: bool = False,
) -> tuple[float, float, float]:
    """(ROIs/s with the ``transform`` of :data:`TRANSFORMS`, ROIs/s without, ratio), medians over ``pairs`` adjacent
    epoch pairs. ``persistent_workers``: both arms keep their ``DataLoader`` workers (and so the transform's
    generated-ROI banks) across epochs. ``cached``: both arms are MONAI ``CacheDataset`` s, which run the transforms
    before the first random one (loading, scaling and a deterministic ``transform`` such as ``NormalCounterpartd``)
    once, when they are built, outside the timed epochs.

    Each pair runs one epoch of each arm back to back (the order alternates between pairs), after one warm-up
    epoch of each. The ratio is the median of the per-pair ratios: the machine's speed drifts by several
    percent over a minute, and adjacent epochs see the same drift.
    """
    tmp_context = tempfile.TemporaryDirectory() if folder is None else contextlib.nullcontext(folder)
    # the workers do the work; one thread keeps the main process from competing
    with torch_threads(1), tmp_context as tmp:
        items = nifti_rois(Path(tmp), num_images)
        load = [LoadImaged("image", image_only=True), EnsureChannelFirstd("image"), ScaleIntensityd("image")]
        augment = [
            RandRotated("image", range_x=np.pi / 12, prob=0.5, keep_size=True),
            RandFlipd("image", spatial_axis=0, prob=0.5),
            RandZoomd("image", min_zoom=0.9, max_zoom=1.1, prob=0.5),
        ]
        synthetic = TRANSFORMS[transform](model)
        make_dataset = partial(CacheDataset, num_workers=workers, progress=False) if cached else Dataset
        arms = {
            "without": make_dataset(items, Compose([*load, *augment])),
            "with": make_dataset(items, Compose([*load, synthetic, *augment])),
        }
        loaders = {
            name: DataLoader(
                dataset,
                batch_size=32,
                shuffle=True,
                num_workers=workers,
                persistent_workers=persistent_workers and workers > 0,
            )
            for name, dataset in arms.items()
        }
        seconds: dict[str, list[float]] = {name: [] for name in arms}
        for loader in loaders.values():
            epoch_seconds(loader)  # warm-up: file cache, worker start-up code paths
        for pair in range(pairs):
            for name in list(arms) if pair % 2 == 0 else list(arms)[::-1]:
                seconds[name].append(epoch_seconds(loaders[name]))
    ratio = float(np.median(np.array(seconds["without"]) / np.array(seconds["with"])))
    return len(items) / float(np.median(seconds["with"])), len(items) / float(np.median(seconds["without"])), ratio


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, default=Path("bundle/models/model.pt"))
    p.add_argument("--num_images", type=int, default=120, help="phantom mammograms (bundle default; ROIs x8 dihedral)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--pairs", type=int, default=5)
    p.add_argument("--transform", choices=sorted(TRANSFORMS), default="synthetic")
    p.add_argument("--persistent_workers", action="store_true", help="keep the workers (and their banks) across epochs")
    p.add_argument("--cached", action="store_true", help="CacheDataset: deterministic transforms run once")
    args = p.parse_args()
    with_aug, without, ratio = pipeline_ratio(
        args.model,
        args.num_images,
        args.workers,
        args.pairs,
        transform=args.transform,
        persistent_workers=args.persistent_workers,
        cached=args.cached,
    )
    name = {
        "synthetic": "SyntheticROIAugmentd",
        "synthetic_fresh": "SyntheticROIAugmentd(pool_size=None)",
        "inserted": "InsertSyntheticLesiond",
    }[args.transform]
    kept = "persistent" if args.persistent_workers else "not persistent"
    print(f"{'without':<38}{without:>10.0f} ROIs/s  (batch 32, {args.workers} workers, {kept})")
    print(f"{f'with {name}, prob 0.5':<38}{with_aug:>10.0f} ROIs/s")
    print(f"throughput ratio with / without (median of {args.pairs} adjacent pairs): {ratio:.2f} (goal >= 0.90)")


if __name__ == "__main__":
    main()
