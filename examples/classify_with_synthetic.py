"""A 4-class ROI classifier trained with and without synthetic ROIs, on an imbalanced phantom training set.

The rare classes are made rare on purpose: only ``--rare_fraction`` of the architectural-distortion and
asymmetry ROIs (whole mammograms at a time) stay in the training set, as in MIAS and CBIS-DDSM. Three arms
train the same small CNN (``monai_roigan.networks.ROIClassifier``) for the same number of steps:

1. ``real only``: the imbalanced real ROIs;
2. ``+ SyntheticROIAugmentd``: each ROI replaced with probability ``--prob`` by a synthetic ROI of a class
   drawn uniformly from the four (the label follows);
3. ``+ SyntheticBalancedDataset``: the minority classes topped up with synthetic ROIs to the largest class.

All arms are tested on the ROIs of an independent phantom (another seed). This is the single-split quick
look; ``bundle/configs/downstream.json`` is the cross-validated experiment (docs/evaluation.md). Run after
training the bundle:

    python -m monai.bundle run training --config_file bundle/configs/train.json
    python examples/classify_with_synthetic.py --model bundle/models/model.pt
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from monai.data import Dataset
from monai.transforms import Compose, RandFlipd, RandRotate90d

from monai_roigan.apps import SyntheticBalancedDataset, training_datalist, training_rois
from monai_roigan.data import ABNORMALITY_CLASSES
from monai_roigan.evaluation import ROISet, fold_scores, train_arm_classifier
from monai_roigan.networks import DEFAULT_POOL_SIZE
from monai_roigan.transforms import SyntheticROIAugmentd

RARE = ("architectural_distortion", "asymmetry")


def imbalanced(items: list[dict], fraction: float, seed: int) -> list[dict]:
    """``items`` with only ``fraction`` of the rare classes' source mammograms kept."""
    rng = np.random.default_rng(seed)
    kept = []
    for name in ABNORMALITY_CLASSES:
        of_class = [i for i in items if i["class_name"] == name]
        groups = sorted({i["group"] for i in of_class})
        if name in RARE:
            groups = list(rng.choice(groups, max(1, round(fraction * len(groups))), replace=False))
        kept += [i for i in of_class if i["group"] in groups]
    return [{"image": i["image"], "label": i["label"]} for i in kept]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, default=Path("bundle/models/model.pt"), help="generator (model.pt or bundle)")
    p.add_argument("--cache_dir", type=Path, default=Path("bundle/data"), help="the training phantom (seed 0)")
    p.add_argument("--test_cache_dir", type=Path, default=Path("bundle/data/test_phantom"), help="held-out phantom")
    p.add_argument("--rare_fraction", type=float, default=0.25)
    p.add_argument("--prob", type=float, default=0.5)
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--pool_size", type=int, default=DEFAULT_POOL_SIZE, help="the augmentation's pool per class; 0: fresh ROIs"
    )
    p.add_argument("--num_images", type=int, default=120, help="mammograms per phantom (the bundle's default)")
    args = p.parse_args()
    train_items = training_datalist(training_rois(args.cache_dir, seed=0, num_phantom_images=args.num_images))
    test_items = training_datalist(training_rois(args.test_cache_dir, seed=1, num_phantom_images=args.num_images))
    real = imbalanced(train_items, args.rare_fraction, args.seed)
    counts = {n: sum(i["label"] == k for i in real) for k, n in enumerate(ABNORMALITY_CLASSES)}
    print(f"training ROIs per class (real): {counts}; test ROIs: {len(test_items)} from an independent phantom")
    flips = [RandFlipd("image", prob=0.5, spatial_axis=1), RandRotate90d("image", prob=0.5)]
    uniform = dict.fromkeys(ABNORMALITY_CLASSES, 1.0)
    arms = {
        "real only": Dataset(real, Compose(flips)),
        "+ SyntheticROIAugmentd": Dataset(
            real,
            Compose(
                [
                    SyntheticROIAugmentd(
                        "image",
                        args.model,
                        prob=args.prob,
                        target_distribution=uniform,
                        pool_size=args.pool_size or None,
                    ),
                    *flips,
                ]
            ),
        ),
        "+ SyntheticBalancedDataset": SyntheticBalancedDataset(
            real, args.model, seed=args.seed, transform=Compose(flips)
        ),
    }
    print(f"{'arm':<28}{'accuracy':>10}{'balanced':>10}" + "".join(f"{n[:12]:>14}" for n in ABNORMALITY_CLASSES))
    test = ROISet.from_items(test_items)
    for name, dataset in arms.items():
        scores = fold_scores(
            train_arm_classifier(dataset, len(ABNORMALITY_CLASSES), args.steps, seed=args.seed),
            test,
            ABNORMALITY_CLASSES,
        )
        print(
            f"{name:<28}{scores['accuracy']:>10.3f}{scores['balanced_accuracy']:>10.3f}"
            + "".join(f"{scores['recall_' + n]:>14.3f}" for n in ABNORMALITY_CLASSES)
        )


if __name__ == "__main__":
    main()
