"""The downstream experiment: does synthetic augmentation improve an ROI classifier?

:func:`run_downstream` is what ``bundle/configs/downstream.json`` runs. A 4-class ROI classifier
(:class:`~monai_roigan.metrics.ROIClassifier`, the same network, steps and seed in every arm) is
cross-validated by mammogram:

- the **test folds** partition the held-out mammograms (``k``-fold, :func:`~monai_roigan.data.splits.group_kfold`),
  which the generator never saw; no test ROI, and no ROI of a test mammogram, influenced the generator;
- a fold's **training set** is the generator's training ROIs plus the held-out ROIs of the other folds.
  With ``rare_fraction < 1`` only that share of the ``rare_classes``' training mammograms is kept, to make
  the rare classes rare (the phantom is balanced; MIAS is imbalanced already, use 1.0 there).

Arms (``arms``), each trained from the same seed:

- ``real``: the real training ROIs, no augmentation;
- ``classic``: the same with classic augmentation (flips, 90-degree rotations, a small affine transform and an
  intensity shift);
- ``synthetic``: classic augmentation plus :class:`~monai_roigan.transforms.SyntheticROIAugmentd` in balance
  mode (:func:`~monai_roigan.transforms.balancing_distribution` of the fold's class counts);
- ``synthetic_only``: classic augmentation of synthetic ROIs only, as many per class as the largest real class.

Per fold and arm: accuracy, balanced accuracy (mean recall over the classes in the fold), macro one-vs-rest
ROC AUC (MONAI's ``compute_roc_auc``, over classes with positives and negatives in the fold) and the recall of
each class. The summary gives the mean and a 95% t-interval across folds (a class absent from a fold is left
out of that fold's recall).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from os import PathLike
from pathlib import Path

import numpy as np
import torch
from monai.data import DataLoader, Dataset
from monai.metrics import compute_roc_auc
from monai.transforms import Compose, RandAffined, RandFlipd, RandRotate90d, RandShiftIntensityd
from monai.utils import set_determinism
from scipy import stats

from monai_roigan.data.evaluation_data import ROISet
from monai_roigan.data.splits import group_kfold, holdout_groups
from monai_roigan.engines.generation import synthesize
from monai_roigan.metrics.roi_classifier import ROIClassifier
from monai_roigan.networks.source import GeneratorSource
from monai_roigan.transforms.synthetic import SyntheticROIAugmentd, balancing_distribution
from monai_roigan.utils.report import markdown_table, write_csv

__all__ = ["ARMS", "classic_augmentation", "fold_scores", "interval", "run_downstream"]

ARMS = ("real", "classic", "synthetic", "synthetic_only")


def classic_augmentation() -> list:
    """Flips, 90-degree rotations, a small affine transform (+-15 degrees, +-10% scale) and an intensity shift."""
    return [
        RandFlipd("image", prob=0.5, spatial_axis=1),
        RandRotate90d("image", prob=0.5),
        RandAffined("image", prob=0.5, rotate_range=np.pi / 12, scale_range=0.1, padding_mode="reflection"),
        RandShiftIntensityd("image", offsets=0.1, prob=0.5),
    ]


def _items(rois: ROISet) -> list[dict]:
    return [{"image": torch.from_numpy(image), "label": int(label)} for image, label in zip(rois.images, rois.labels)]


def _keep_rare_share(rois: ROISet, rare: Sequence[int], fraction: float, seed: int) -> ROISet:
    """``rois`` with only ``fraction`` of the mammograms of each ``rare`` class (at least one)."""
    if fraction >= 1.0:
        return rois
    dropped: set[str] = set()
    for label in rare:
        of_class = rois.of_class(label)
        names = sorted(set(of_class.groups.tolist()))
        dropped |= holdout_groups(of_class.groups, of_class.labels, 1.0 - fraction, seed) if len(names) > 1 else set()
    rare_mask = np.isin(rois.labels, list(rare))
    return rois.subset(~(rare_mask & np.isin(rois.groups, sorted(dropped))))


def _train_classifier(dataset, num_classes: int, steps: int, batch_size: int, seed: int) -> ROIClassifier:
    if len(dataset) < 2:
        raise ValueError(f"a classifier needs at least 2 training ROIs, got {len(dataset)}")
    batch_size = min(batch_size, len(dataset))  # a full batch always exists, so the loop below ends
    set_determinism(seed)
    net = ROIClassifier(num_classes)
    optimizer = torch.optim.Adam(net.parameters(), 1e-3)
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, num_workers=0, drop_last=True)
    for batch in itertools.islice(itertools.chain.from_iterable(itertools.repeat(loader)), steps):
        loss = torch.nn.functional.cross_entropy(net(torch.as_tensor(batch["image"])), torch.as_tensor(batch["label"]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    set_determinism(None)
    return net.eval()


@torch.no_grad()
def fold_scores(net: torch.nn.Module, test: ROISet, class_names: Sequence[str]) -> dict[str, float]:
    """Accuracy, balanced accuracy, macro AUC and per-class recall (``recall_<class>``) on ``test``; NaN where
    a class is absent."""
    probs = torch.softmax(net(torch.as_tensor(test.images)), 1).numpy()
    predicted, y = probs.argmax(1), test.labels
    recall = {f"recall_{n}": float(np.mean(predicted[y == k] == k)) if np.any(y == k) else float("nan")
              for k, n in enumerate(class_names)}  # fmt: skip
    aucs = [float(compute_roc_auc(torch.as_tensor(probs[:, k]), torch.as_tensor((y == k).astype(np.float32))))
            for k in range(len(class_names)) if 0 < np.sum(y == k) < len(y)]  # fmt: skip
    return {"accuracy": float(np.mean(predicted == y)), "balanced_accuracy": float(np.nanmean(list(recall.values()))),
            "macro_auc": float(np.mean(aucs)) if aucs else float("nan"), **recall}  # fmt: skip


def interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): a t-interval of the mean over the finite ``values`` (NaN bounds for fewer than 2)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return float("nan"), float("nan"), float("nan")
    if len(v) < 2:
        return float(v.mean()), float("nan"), float("nan")
    half = stats.t.ppf(0.5 + confidence / 2, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v))
    return float(v.mean()), float(v.mean() - half), float(v.mean() + half)


def _arm_dataset(arm: str, train: ROISet, source: GeneratorSource, class_names: Sequence[str], seed: int):
    if arm == "real":
        return Dataset(_items(train))
    if arm == "classic":
        return Dataset(_items(train), Compose(classic_augmentation()))
    counts = {n: int(np.sum(train.labels == k)) for k, n in enumerate(class_names)}
    if arm == "synthetic_only":
        generator, largest = source.get(), max(counts.values())
        images = torch.cat([synthesize(generator, k, range(largest), seed, generator.latent_dim) for k in range(len(class_names))])
        labels = np.repeat(np.arange(len(class_names)), largest)
        return Dataset(_items(ROISet(images.numpy(), labels, labels.astype(str))), Compose(classic_augmentation()))
    prob, target = balancing_distribution(counts)
    synthetic = SyntheticROIAugmentd("image", source, prob=prob, class_names=class_names, generator_classes=class_names,
                                     target_distribution=target).set_random_state(seed)  # fmt: skip
    return Dataset(_items(train), Compose([synthetic, *classic_augmentation()]))


def run_downstream(
    generator: str | PathLike | torch.nn.Module,
    train: ROISet,
    held_out: ROISet,
    output_dir: str | PathLike,
    class_names: Sequence[str],
    k: int = 5,
    arms: Sequence[str] = ARMS,
    rare_classes: Sequence[str] = (),
    rare_fraction: float = 1.0,
    steps: int = 600,
    batch_size: int = 32,
    seed: int = 0,
    held_out_source: str = "held-out real ROIs",
) -> Path:
    """Run the experiment (see the module docstring); writes ``downstream.md``, ``downstream_folds.csv`` and
    ``downstream_summary.csv`` into ``output_dir`` and returns the report's path.

    Args:
        generator: a bundle folder, weights file or generator module.
        train: the generator's training ROIs (no dihedral copies); held_out: ROIs of mammograms it never saw.
        class_names: the generator's classes in label order (the classifier's classes).
        k: folds over the held-out mammograms.
        rare_classes, rare_fraction: keep only ``rare_fraction`` of these classes' training mammograms per fold.
        steps, batch_size: classifier optimisation steps and batch size (the same in every arm).
        seed: seed of the folds, the subsampling, the classifier and the synthetic ROIs.
    """
    unknown = sorted(set(arms) - set(ARMS))
    if unknown:
        raise ValueError(f"unknown arm(s) {unknown}; expected some of {ARMS}")
    source = GeneratorSource(generator, num_classes=len(class_names))
    folds = group_kfold(held_out.groups, held_out.labels, k, seed)
    rare = [list(class_names).index(n) for n in rare_classes]
    rows = []
    for fold in range(k):
        train_fold = ROISet.concat([train, held_out.subset(folds != fold)])
        train_fold = _keep_rare_share(train_fold, rare, rare_fraction, seed + fold)
        test = held_out.subset(folds == fold)
        for arm in arms:
            dataset = _arm_dataset(arm, train_fold, source, class_names, seed + fold)
            net = _train_classifier(dataset, len(class_names), steps, batch_size, seed + fold)
            rows.append({"fold": fold, "arm": arm, "train_rois": len(train_fold), "test_rois": len(test),
                         **fold_scores(net, test, class_names)})  # fmt: skip
    return _write_downstream(Path(output_dir), rows, arms, class_names, source.describe(), held_out_source, k,
                             rare_classes, rare_fraction, steps)  # fmt: skip


def _write_downstream(output_dir: Path, rows: list[dict], arms: Sequence[str], class_names: Sequence[str],
                      generator: str, held_out_source: str, k: int, rare_classes, rare_fraction, steps) -> Path:  # fmt: skip
    output_dir.mkdir(parents=True, exist_ok=True)
    metrics = ["accuracy", "balanced_accuracy", "macro_auc", *(f"recall_{n}" for n in class_names)]
    summary, numbers = [], []
    for arm in arms:
        ranges = {m: interval([r[m] for r in rows if r["arm"] == arm]) for m in metrics}
        summary.append({"arm": arm, **{m: f"{a:.3f} [{lo:.3f}, {hi:.3f}]" for m, (a, lo, hi) in ranges.items()}})
        numbers.append({"arm": arm, **{f"{m}_{part}": v for m, r in ranges.items() for part, v in zip(("mean", "low", "high"), r)}})
    write_csv(output_dir / "downstream_folds.csv", rows)
    write_csv(output_dir / "downstream_summary.csv", numbers)
    text = "\n".join([
        "# Downstream experiment: a 4-class ROI classifier with and without synthetic ROIs", "",
        f"- Generator: {generator}",
        f"- Test folds: {k}-fold over {held_out_source}, by mammogram; the generator never saw them",
        f"- Training per fold: the generator's training ROIs plus the other folds; rare classes {list(rare_classes)} "
        f"kept at {rare_fraction:.0%} of their mammograms",
        f"- Classifier: ROIClassifier, Adam 1e-3, {steps} steps of batch 32, same seed in every arm", "",
        "Mean over folds and 95% t-interval:", "",
        markdown_table(summary, ["arm", *metrics], ["arm", "accuracy", "balanced accuracy", "macro AUC",
                                                    *(f"recall {n}" for n in class_names)]),  # fmt: skip
        "", "Per fold: `downstream_folds.csv`.", ""])  # fmt: skip
    report = output_dir / "downstream.md"
    report.write_text(text, encoding="utf-8")
    return report
