"""The downstream experiment: does synthetic augmentation improve an ROI classifier?

:func:`run_downstream` is what ``bundle/configs/downstream.json`` runs. A 4-class ROI classifier
(:class:`~monai_roigan.networks.nets.ROIClassifier` trained by :func:`~monai_roigan.engines.train_roi_classifier`,
the same network, steps and seed in every arm) is
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

import logging
import time
from collections.abc import Mapping, Sequence
from os import PathLike
from pathlib import Path

import numpy as np
import torch
from monai.data import Dataset
from monai.metrics import compute_roc_auc
from monai.transforms import Compose, RandAffined, RandFlipd, RandRotate90d, RandShiftIntensityd
from scipy import stats

from monai_roigan.data.splits import group_kfold, holdout_groups
from monai_roigan.engines.classifier import train_roi_classifier
from monai_roigan.evaluation.data import ROISet
from monai_roigan.networks.sampling import synthesize
from monai_roigan.networks.source import GeneratorSource
from monai_roigan.transforms.synthetic import SyntheticROIAugmentd, balancing_distribution
from monai_roigan.utils.report import markdown_table, write_csv

__all__ = ["ARMS", "classic_augmentation", "fold_scores", "interval", "run_downstream", "train_arm_classifier"]

ARMS = ("real", "classic", "synthetic", "synthetic_only")
logger = logging.getLogger("monai_roigan.downstream")


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


def train_arm_classifier(dataset, num_classes: int, steps: int, batch_size: int = 32, seed: int = 0) -> torch.nn.Module:
    """The classifier every arm trains: :func:`~monai_roigan.engines.train_roi_classifier` for ``steps`` full batches
    (Adam 1e-3, channels-last), everything random drawn from ``seed``; the global RNGs are left untouched."""
    return train_roi_classifier(dataset, num_classes, steps=steps, batch_size=batch_size, seed=seed, drop_last=True,
                                channels_last=True)  # fmt: skip


def scores(probs: np.ndarray, labels: np.ndarray, class_names: Sequence[str]) -> dict[str, float]:
    """Accuracy, balanced accuracy (mean recall over the classes present), macro one-vs-rest AUC (over classes
    with positives and negatives) and per-class recall (``recall_<class>``, NaN for an absent class) of class
    probabilities (N, K) against labels (N,)."""
    predicted = probs.argmax(1)
    recall = {f"recall_{n}": float(np.mean(predicted[labels == k] == k)) if np.any(labels == k) else float("nan")
              for k, n in enumerate(class_names)}  # fmt: skip
    aucs = [float(compute_roc_auc(torch.as_tensor(probs[:, k]), torch.as_tensor((labels == k).astype(np.float32))))
            for k in range(len(class_names)) if 0 < np.sum(labels == k) < len(labels)]  # fmt: skip
    return {"accuracy": float(np.mean(predicted == labels)),
            "balanced_accuracy": float(np.nanmean(list(recall.values()))),
            "macro_auc": float(np.mean(aucs)) if aucs else float("nan"), **recall}  # fmt: skip


@torch.no_grad()
def predict(net: torch.nn.Module, images: np.ndarray) -> np.ndarray:
    """Class probabilities (N, K) of ROIs (N, 1, S, S) in [-1, 1]."""
    return torch.softmax(net(torch.as_tensor(images)), 1).numpy()


def fold_scores(net: torch.nn.Module, test: ROISet, class_names: Sequence[str]) -> dict[str, float]:
    """:func:`scores` of ``net`` on ``test``."""
    return scores(predict(net, test.images), test.labels, class_names)


def interval(values: Sequence[float], confidence: float = 0.95, variance_factor: float | None = None
             ) -> tuple[float, float, float]:  # fmt: skip
    """(mean, low, high): a t-interval of the mean over the finite ``values`` (NaN bounds for fewer than 2).

    ``variance_factor`` replaces the ``1 / n`` of the variance of the mean: the Nadeau-Bengio correction for
    k-fold cross-validation, whose training sets overlap, uses ``1 / k + n_test / n_train``.
    """
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return float("nan"), float("nan"), float("nan")
    if len(v) < 2:
        return float(v.mean()), float("nan"), float("nan")
    factor = 1.0 / len(v) if variance_factor is None else variance_factor
    half = stats.t.ppf(0.5 + confidence / 2, len(v) - 1) * v.std(ddof=1) * np.sqrt(factor)
    return float(v.mean()), float(v.mean() - half), float(v.mean() + half)


def _arm_dataset(arm: str, train: ROISet, source: GeneratorSource, class_names: Sequence[str], seed: int,
                 truncation: float):  # fmt: skip
    """The training dataset of one arm (see the module docstring)."""
    if arm == "real":
        return Dataset(_items(train))
    if arm == "classic":
        return Dataset(_items(train), Compose(classic_augmentation()))
    counts = {n: int(np.sum(train.labels == k)) for k, n in enumerate(class_names)}
    if arm == "synthetic_only":
        generator, largest = source.get(), max(counts.values())
        images = torch.cat([synthesize(generator, k, range(largest), seed, truncation=truncation)
                            for k in range(len(class_names))])  # fmt: skip
        labels = np.repeat(np.arange(len(class_names)), largest)
        return Dataset(_items(ROISet(images.numpy(), labels, labels.astype(str))), Compose(classic_augmentation()))
    prob, target = balancing_distribution(counts)
    synthetic = SyntheticROIAugmentd("image", source, prob=prob, class_names=class_names, generator_classes=class_names,
                                     target_distribution=target, truncation=truncation)  # fmt: skip
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
    steps: int = 400,
    batch_size: int = 32,
    truncation: float = 0.8,
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
            Below 1 this is fair only if the generator was trained without the same mammograms; otherwise the
            synthetic arms carry information the other arms were denied (the report says so).
        steps, batch_size: classifier optimisation steps and batch size (the same in every arm).
        truncation: latent scale psi of the synthetic ROIs (as evaluation and inference: 0.8).
        seed: seed of the folds, the subsampling, the classifier and the synthetic ROIs.
    """
    unknown = sorted(set(arms) - set(ARMS))
    if unknown:
        raise ValueError(f"unknown arm(s) {unknown}; expected some of {ARMS}")
    source = GeneratorSource(generator, num_classes=len(class_names))
    folds = group_kfold(held_out.groups, held_out.labels, k, seed)
    rare = [list(class_names).index(n) for n in rare_classes]
    rows, pooled = [], {arm: np.zeros((len(held_out), len(class_names))) for arm in arms}
    for fold in range(k):
        train_fold = _keep_rare_share(ROISet.concat([train, held_out.subset(folds != fold)]), rare, rare_fraction,
                                      seed + fold)  # fmt: skip
        test = held_out.subset(folds == fold)
        for arm in arms:
            start = time.perf_counter()
            dataset = _arm_dataset(arm, train_fold, source, class_names, seed + fold, truncation)
            probs = predict(train_arm_classifier(dataset, len(class_names), steps, batch_size, seed + fold), test.images)
            pooled[arm][folds == fold] = probs
            rows.append({"fold": fold, "arm": arm, "train_rois": len(dataset), "real_train_rois": len(train_fold),
                         "test_rois": len(test), **scores(probs, test.labels, class_names)})  # fmt: skip
            logger.info(f"fold {fold + 1}/{k}, arm {arm}: balanced accuracy {rows[-1]['balanced_accuracy']:.3f} "
                        f"({time.perf_counter() - start:.0f} s)")  # fmt: skip
    pooled_rows = [{"arm": arm, **scores(pooled[arm], held_out.labels, class_names)} for arm in arms]
    setup = {"generator": source.describe(), "held_out_source": held_out_source, "k": k, "steps": steps,
             "batch_size": batch_size, "truncation": truncation, "rare_classes": list(rare_classes),
             "rare_fraction": rare_fraction}  # fmt: skip
    return _write_downstream(Path(output_dir), rows, pooled_rows, arms, class_names, setup)


def _metric_names(class_names: Sequence[str]) -> list[str]:
    return ["accuracy", "balanced_accuracy", "macro_auc", *(f"recall_{n}" for n in class_names)]


def _text(mean: float, low: float, high: float, lowest: float = 0.0) -> str:
    """"mean [low, high]" with the bounds clipped to [lowest, 1] (every score is in [0, 1], a difference in [-1, 1])."""
    return f"{mean:.3f} [{max(low, lowest):.3f}, {min(high, 1.0):.3f}]"


def _summaries(rows: list[dict], arms: Sequence[str], metrics: list[str]) -> tuple[list[dict], list[dict]]:
    """(table rows with "mean [low, high]" text, CSV rows with the numbers) of the per-arm t-intervals."""
    table, numbers = [], []
    for arm in arms:
        ranges = {m: interval([r[m] for r in rows if r["arm"] == arm]) for m in metrics}
        table.append({"arm": arm, **{m: _text(*r) for m, r in ranges.items()}})
        numbers.append({"arm": arm, **{f"{m}_{part}": v for m, r in ranges.items()
                                       for part, v in zip(("mean", "low", "high"), r)}})  # fmt: skip
    return table, numbers


def _paired(rows: list[dict], arms: Sequence[str], metrics: list[str], k: int) -> list[dict]:
    """Per-fold differences of each arm against ``real`` and ``classic``, with Nadeau-Bengio corrected intervals."""
    out, by_fold = [], {(r["fold"], r["arm"]): r for r in rows}
    for base in ("real", "classic"):
        for arm in [a for a in arms if a != base and base in arms and ARMS.index(a) > ARMS.index(base)]:
            ratio = np.mean([by_fold[(f, arm)]["test_rois"] / by_fold[(f, arm)]["real_train_rois"] for f in range(k)])
            diffs = {m: [by_fold[(f, arm)][m] - by_fold[(f, base)][m] for f in range(k)] for m in metrics}
            out.append({"comparison": f"{arm} - {base}", **{m: _text(*interval(d, variance_factor=1 / k + ratio),
                                                                      lowest=-1.0) for m, d in diffs.items()}})  # fmt: skip
    return out


def _write_downstream(output_dir: Path, rows: list[dict], pooled: list[dict], arms: Sequence[str],
                      class_names: Sequence[str], setup: dict) -> Path:  # fmt: skip
    """``downstream.md``, ``downstream_folds.csv`` and ``downstream_summary.csv`` in ``output_dir``."""
    output_dir.mkdir(parents=True, exist_ok=True)
    metrics = _metric_names(class_names)
    headers = ["accuracy", "balanced accuracy", "macro AUC", *(f"recall {n}" for n in class_names)]
    table, numbers = _summaries(rows, arms, metrics)
    write_csv(output_dir / "downstream_folds.csv", rows)
    write_csv(output_dir / "downstream_summary.csv", [{**n, **{f"{m}_pooled": p[m] for m in metrics}}
                                                      for n, p in zip(numbers, pooled)])  # fmt: skip
    caveat = []
    if setup["rare_fraction"] < 1:
        caveat = ["", f"**Caveat:** rare classes were subsampled to {setup['rare_fraction']:.0%} of their training "
                  "mammograms. Unless the generator was trained without the same mammograms, the synthetic arms carry "
                  "information that the other arms were denied, and the comparison favours them."]  # fmt: skip
    text = "\n".join([
        f"# Downstream experiment: a {len(class_names)}-class ROI classifier with and without synthetic ROIs", "",
        f"- Generator: {setup['generator']} (truncation psi {setup['truncation']})",
        f"- Test folds: {setup['k']}-fold over {setup['held_out_source']}, by mammogram; the generator never saw them",
        "- Training per fold: the generator's training ROIs plus the other folds' held-out ROIs; rare classes "
        f"{setup['rare_classes']} kept at {setup['rare_fraction']:.0%} of their mammograms",
        f"- Classifier: ROIClassifier, Adam 1e-3, {setup['steps']} steps of batch {setup['batch_size']}, the same seed "
        "per fold in every arm. In the synthetic arm, SyntheticROIAugmentd replaces each training ROI with the "
        "probability that balances the classes (balancing_distribution)", *caveat, "",
        "## Mean over folds, 95% t-interval across folds (bounds clipped to [0, 1])", "",
        markdown_table(table, ["arm", *metrics], ["arm", *headers]), "",
        "## Paired differences per fold, 95% interval with the Nadeau-Bengio correction (bounds clipped to [-1, 1])", "",
        "The folds share training data, so the variance of the mean difference uses 1/k + n_test/n_train instead of "
        "1/k. An interval that excludes 0 is a difference the experiment can see.", "",
        markdown_table(_paired(rows, arms, metrics, setup["k"]), ["comparison", *metrics], ["comparison", *headers]), "",
        "## Pooled out-of-fold predictions (every held-out ROI once)", "",
        markdown_table(pooled, ["arm", *metrics], ["arm", *headers]), "",
        "Per fold: `downstream_folds.csv`; numbers: `downstream_summary.csv`.", ""])  # fmt: skip
    report = output_dir / "downstream.md"
    report.write_text(text, encoding="utf-8")
    return report
