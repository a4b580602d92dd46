"""The downstream experiment: does synthesis beat what a researcher would do without it?

:func:`run_downstream` is what ``bundle/configs/downstream.json`` runs. The same ROI classifier
(:class:`~monai_roigan.networks.nets.ROIClassifier` trained by :func:`train_arm_classifier`: the same network,
steps and seed in every arm) is trained in each arm (:mod:`monai_roigan.evaluation.arms`) and scored on ROIs of
women that neither the generator nor the classifier saw, in two tasks:

- ``lesion_type``: the K lesion classes (accuracy, balanced accuracy, macro one-vs-rest AUC, recall per class);
- ``abnormal_vs_normal``: the K lesion classes and normal tissue (needs ``normal_per_image > 0``): the AUC of each
  lesion class against normal tissue (the class's probability, on that class's test ROIs and the normal test
  ROIs), their mean, and the sensitivity of each class at 90% specificity. Normal ROIs make hundreds of
  negatives, so this task sees effects the 4-class task cannot.

**Folds, by woman, repeated.** The test folds partition the held-out women (lesion and normal ROIs together,
:func:`~monai_roigan.data.splits.group_kfold`, stratified by class); ``repeats`` repetitions draw new folds. A
fold's training set is the generator's training ROIs plus the other folds' held-out ROIs. With
``rare_fraction`` below 1 only that share of the ``rare_classes``' training women is kept.

**Verdict.** For each task, each synthetic arm is compared with the best non-synthetic arm (the highest mean of
the task's main score: balanced accuracy, or the mean AUC against normal tissue): the paired differences over
all folds and repeats, with the corrected repeated k-fold interval of Nadeau and Bengio (variance factor
``1 / (k r) + n_test / n_train``), read as "better", "no difference seen" or "worse".
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from os import PathLike
from pathlib import Path

import numpy as np
import torch
from monai.metrics import compute_roc_auc
from scipy import stats

from monai_roigan.apps.sample_filter import check_min_confidence
from monai_roigan.data.splits import group_kfold, holdout_groups
from monai_roigan.engines.classifier import train_roi_classifier
from monai_roigan.evaluation.arms import (
    ARMS,
    NON_SYNTHETIC_ARMS,
    ArmData,
    arm_dataset,
    check_inserted_source,
    expand_arms,
)
from monai_roigan.evaluation.data import EvaluationROIs, ROISet, as_evaluation_rois
from monai_roigan.networks.source import GeneratorSource
from monai_roigan.utils.progress import progress
from monai_roigan.utils.report import markdown_table, write_csv

__all__ = [
    "MAIN_SCORE",
    "TASKS",
    "fold_scores",
    "interval",
    "normal_scores",
    "run_downstream",
    "sensitivity_at_specificity",
    "train_arm_classifier",
    "verdict",
]

logger = logging.getLogger("monai_roigan.downstream")


def _keep_rare_share(rois: ROISet, rare: Sequence[int], fraction: float, seed: int) -> ROISet:
    """``rois`` with only ``fraction`` of the women of each ``rare`` class (at least one)."""
    if fraction >= 1.0:
        return rois
    dropped: set[str] = set()
    for label in rare:
        of_class = rois.of_class(label)
        names = sorted(set(of_class.groups.tolist()))
        dropped |= holdout_groups(of_class.groups, of_class.labels, 1.0 - fraction, seed) if len(names) > 1 else set()
    rare_mask = np.isin(rois.labels, list(rare))
    return rois.subset(~(rare_mask & np.isin(rois.groups, sorted(dropped))))


def scores(probs: np.ndarray, labels: np.ndarray, class_names: Sequence[str]) -> dict[str, float]:
    """Accuracy, balanced accuracy (mean recall over the classes present), macro one-vs-rest AUC (over classes
    with positives and negatives) and per-class recall (``recall_<class>``, NaN for an absent class) of class
    probabilities (N, K) against labels (N,)."""
    predicted = probs.argmax(1)
    recall = {
        f"recall_{n}": float(np.mean(predicted[labels == k] == k)) if np.any(labels == k) else float("nan")
        for k, n in enumerate(class_names)
    }
    aucs = [
        float(compute_roc_auc(torch.as_tensor(probs[:, k]), torch.as_tensor((labels == k).astype(np.float32))))
        for k in range(len(class_names))
        if 0 < np.sum(labels == k) < len(labels)
    ]
    return {
        "accuracy": float(np.mean(predicted == labels)),
        "balanced_accuracy": float(np.nanmean(list(recall.values()))),
        "macro_auc": float(np.mean(aucs)) if aucs else float("nan"),
        **recall,
    }


@torch.no_grad()
def predict(net: torch.nn.Module, images: np.ndarray) -> np.ndarray:
    """Class probabilities (N, K) of ROIs (N, 1, S, S) in [-1, 1]."""
    return torch.softmax(net(torch.as_tensor(images)), 1).numpy()


def fold_scores(net: torch.nn.Module, test: ROISet, class_names: Sequence[str]) -> dict[str, float]:
    """:func:`scores` of ``net`` on ``test``."""
    return scores(predict(net, test.images), test.labels, class_names)


def interval(
    values: Sequence[float], confidence: float = 0.95, variance_factor: float | None = None
) -> tuple[float, float, float]:
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


TASKS = ("lesion_type", "abnormal_vs_normal")
MAIN_SCORE = {"lesion_type": "balanced_accuracy", "abnormal_vs_normal": "mean_auc_vs_normal"}


def train_arm_classifier(
    dataset,
    num_classes: int,
    steps: int,
    batch_size: int = 32,
    seed: int = 0,
    balanced: bool = False,
    network: torch.nn.Module | None = None,
) -> torch.nn.Module:
    """The classifier every arm trains: :func:`~monai_roigan.engines.train_roi_classifier` for ``steps`` full batches
    (Adam 1e-3, channels-last), everything random drawn from ``seed``; the global RNGs are left untouched."""
    return train_roi_classifier(
        dataset,
        num_classes,
        steps=steps,
        batch_size=batch_size,
        seed=seed,
        drop_last=True,
        channels_last=True,
        balanced=balanced,
        network=network,
    )


def sensitivity_at_specificity(positive: np.ndarray, negative: np.ndarray, specificity: float = 0.9) -> float:
    """Share of ``positive`` scores above the threshold that keeps ``specificity`` of the ``negative`` scores below
    it."""
    if len(positive) == 0 or len(negative) == 0:
        return float("nan")
    threshold = np.quantile(negative, specificity, method="higher")
    return float(np.mean(positive > threshold))


def normal_scores(probs: np.ndarray, labels: np.ndarray, class_names: Sequence[str]) -> dict[str, float]:
    """Lesion classes against normal tissue (label ``len(class_names)``): per class ``auc_<c>_vs_normal`` and
    ``sens90_<c>`` (sensitivity at 90% specificity), ``mean_auc_vs_normal`` over the classes with test ROIs, and
    ``abnormal_auc`` (any lesion against normal, scored 1 - p(normal))."""
    normal = labels == len(class_names)
    out = {}
    for k, name in enumerate(class_names):
        positive, negative = probs[labels == k, k], probs[normal, k]
        both = np.concatenate([positive, negative])
        truth = np.concatenate([np.ones(len(positive)), np.zeros(len(negative))]).astype(np.float32)
        out[f"auc_{name}_vs_normal"] = (
            float(compute_roc_auc(torch.as_tensor(both), torch.as_tensor(truth)))
            if len(positive) and len(negative)
            else float("nan")
        )
        out[f"sens90_{name}"] = sensitivity_at_specificity(positive, negative)
    out["mean_auc_vs_normal"] = float(np.nanmean([out[f"auc_{n}_vs_normal"] for n in class_names]))
    abnormal = (~normal).astype(np.float32)
    out["abnormal_auc"] = (
        float(compute_roc_auc(torch.as_tensor(1 - probs[:, -1]), torch.as_tensor(abnormal)))
        if 0 < abnormal.sum() < len(abnormal)
        else float("nan")
    )
    return out


def task_scores(task: str, probs: np.ndarray, labels: np.ndarray, class_names: Sequence[str]) -> dict[str, float]:
    """The scores of ``task`` (see the module docstring) of class probabilities (N, K or K+1) against labels (N,)."""
    return scores(probs, labels, class_names) if task == "lesion_type" else normal_scores(probs, labels, class_names)


def metric_names(task: str, class_names: Sequence[str]) -> list[str]:
    if task == "lesion_type":
        return ["accuracy", "balanced_accuracy", "macro_auc", *(f"recall_{n}" for n in class_names)]
    return [
        "mean_auc_vs_normal",
        "abnormal_auc",
        *(f"auc_{n}_vs_normal" for n in class_names),
        *(f"sens90_{n}" for n in class_names),
    ]


def _check_inputs(tasks, arms, normals_train: ROISet, normals_held: ROISet, held_out: ROISet, class_names) -> None:
    """Every configuration error, before any classifier is trained."""
    unknown = sorted(set(tasks) - set(TASKS))
    if unknown:
        raise ValueError(f"unknown task(s) {unknown}; expected some of {TASKS}")
    needs_normals = "abnormal_vs_normal" in tasks or bool({"copy_paste", "inserted"} & set(arms))
    if needs_normals and (len(normals_train) == 0 or len(normals_held) == 0):
        raise ValueError(
            "the abnormal_vs_normal task and the copy_paste and inserted arms need normal-tissue ROIs on both sides: "
            "set normal_per_image > 0 (the data must hold normal mammograms)"
        )
    empty = [n for k, n in enumerate(class_names) if not np.any(held_out.labels == k)]
    if empty:
        raise ValueError(f"the test ROIs hold no ROI of class(es) {empty}")


def _fold_sets(
    train: ROISet,
    held: ROISet,
    normal_train: ROISet,
    normal_held: ROISet,
    num_classes: int,
    k: int,
    seed: int,
    external: bool,
):
    """(lesion training ROIs, normal training ROIs, test ROIs) of each fold.

    Held-out folds: the folds split the held-out women; a fold trains on ``train`` and the other folds.
    External: the folds split the training women; a fold trains on the other folds and tests on all of ``held``.
    """
    pool = ROISet.concat([train, normal_train] if external else [held, normal_held])
    folds = group_kfold(pool.groups, pool.labels, k, seed)
    for fold in range(k):
        rest = pool.subset(folds != fold)
        base = [] if external else [train]
        lesions = ROISet.concat([*base, rest.subset(rest.labels < num_classes)])
        normals = ROISet.concat([*([] if external else [normal_train]), rest.subset(rest.labels == num_classes)])
        test = ROISet.concat([held, normal_held]) if external else pool.subset(folds == fold)
        yield lesions, normals, test


def _fold_classifier(arm: str, data: ArmData, num_classes: int, steps: int, batch_size: int, seed: int):
    """(trained classifier, training-set size, {class: sample-filter acceptance rate}) of one arm on one fold."""
    dataset = arm_dataset(arm, data)
    first = steps // 2 if arm == "two_phase" else steps
    net = train_arm_classifier(dataset, num_classes, first, batch_size, seed, balanced=arm == "oversample")
    if arm == "two_phase":  # fine-tune on the real ROIs only
        net = train_arm_classifier(
            arm_dataset("classic", data), num_classes, steps - first, batch_size, seed + 1, network=net
        )
    rates = dataset.acceptance_rates() if hasattr(dataset, "acceptance_rates") else {}
    return net, len(dataset), rates


def _jobs(
    rois: EvaluationROIs,
    class_names,
    k,
    repeats,
    tasks,
    names,
    rare,
    rare_fraction,
    seed,
    truncation,
    source,
    min_confidence,
):
    """``(repeat, fold, task, arm, ArmData, test ROIs)`` of every classifier to train, in the report's order."""
    for repeat in range(repeats):
        folds = _fold_sets(
            rois.train,
            rois.held_out,
            rois.normal_train,
            rois.normal_held_out,
            len(class_names),
            k,
            seed + 1000 * repeat,
            rois.external,
        )
        for fold, (lesions, normals, test) in enumerate(folds):
            fold_seed = seed + 1000 * repeat + fold
            lesions = _keep_rare_share(lesions, rare, rare_fraction, fold_seed)
            for task in tasks:
                with_normal = task == "abnormal_vs_normal"
                task_test = test if with_normal else test.subset(test.labels < len(class_names))
                data = ArmData(
                    lesions, normals, source, class_names, with_normal, fold_seed, truncation, min_confidence
                )
                for arm in names:
                    yield repeat, fold, task, arm, data, task_test


def run_downstream(
    generator: str | PathLike | torch.nn.Module,
    rois: EvaluationROIs,
    output_dir: str | PathLike,
    class_names: Sequence[str],
    k: int = 5,
    arms: Sequence[str] | None = None,
    rare_classes: Sequence[str] = (),
    rare_fraction: float = 1.0,
    steps: int = 400,
    batch_size: int = 32,
    truncation: float = 1.0,
    seed: int = 0,
    tasks: Sequence[str] = ("lesion_type",),
    repeats: int = 1,
    synthetic_shares: Sequence[float] = (0.25, 0.5, 1.0),
    min_confidence: float = 0.5,
) -> Path:
    """Run the experiment (see the module docstring); writes ``downstream.md``, ``downstream_folds.csv`` and
    ``downstream_summary.csv`` into ``output_dir`` and returns the report's path.

    Args:
        generator: a bundle folder, weights file or generator module.
        rois: the real ROIs (:func:`~monai_roigan.evaluation.evaluation_rois`, or ``EvaluationROIs(train, held_out,
            ...)``): ``train``, the generator's training ROIs (no dihedral copies); ``held_out``, ROIs of women it
            never saw; ``source``, their origin for the report; ``normal_train`` and ``normal_held_out``,
            normal-tissue ROIs of the training and the held-out women (label K; the ``abnormal_vs_normal`` task
            and the copy-paste arms need them); ``external``: ``held_out`` is an external test set, so the folds
            split the training ROIs (``train`` and ``normal_train``) by woman, and every classifier is scored on
            the whole external set.
        class_names: the generator's classes in label order (the lesion classes).
        k: folds over the held-out women; repeats: how many times new folds are drawn.
        arms: see :mod:`monai_roigan.evaluation.arms` (None: every arm that applies to the generator, ``inserted``
            only for a context generator); synthetic_shares: the shares of ``synthetic_share``.
        rare_classes, rare_fraction: keep only ``rare_fraction`` of these classes' training women per fold.
            Below 1 this is fair only if the generator was trained without the same women; otherwise the
            synthetic arms carry information the other arms were denied (the report says so).
        steps, batch_size: classifier optimisation steps and batch size (the same in every arm).
        truncation: latent scale psi of the synthetic ROIs (as evaluation and inference; the bundle default 1.0 is the
        full range).
        seed: seed of the folds, the subsampling, the classifiers and the synthetic ROIs.
        tasks: some of :data:`TASKS`.
        min_confidence: the sample filter's threshold in the ``synthetic_filtered`` arm.

    Raises:
        ValueError: an unknown task or arm, a task or arm that needs normal ROIs without them, a class without
            test ROIs, or the ``inserted`` arm without a context generator; all before any training.
    """
    none = ROISet.from_items([])
    rois = as_evaluation_rois(rois, "run_downstream")
    rois = rois._replace(normal_train=rois.normal_train or none, normal_held_out=rois.normal_held_out or none)
    names = expand_arms(ARMS if arms is None else arms, synthetic_shares)  # an unknown arm fails first
    wanted = set(names) - set(NON_SYNTHETIC_ARMS)
    kind = "context" if wanted == {"inserted"} else None  # in-filling alone needs no context bank
    source = GeneratorSource(generator, num_classes=len(class_names), kind=kind) if wanted else None
    if arms is None and source.kind != "context":
        names = [n for n in names if n != "inserted"]
    _check_inputs(tasks, names, rois.normal_train, rois.normal_held_out, rois.held_out, class_names)
    if "inserted" in names:
        check_inserted_source(source)
    rare = [list(class_names).index(n) for n in rare_classes]
    rows = []
    min_confidence = check_min_confidence(min_confidence)
    jobs = _jobs(
        rois, class_names, k, repeats, tasks, names, rare, rare_fraction, seed, truncation, source, min_confidence
    )
    total = repeats * k * len(tasks) * len(names)
    for repeat, fold, task, arm, data, task_test in progress(
        jobs, "downstream classifiers", total, logger, "classifiers"
    ):
        start = time.perf_counter()
        with_normal = task == "abnormal_vs_normal"
        net, size, rates = _fold_classifier(arm, data, len(class_names) + with_normal, steps, batch_size, data.seed)
        probs = predict(net, task_test.images)
        rows.append(
            {
                "task": task,
                "repeat": repeat,
                "fold": fold,
                "arm": arm,
                "train_rois": size,
                "real_train_rois": len(data.real()),
                "test_rois": len(task_test),
                **task_scores(task, probs, task_test.labels, class_names),
                **{f"accepted_{name}": rates.get(name, float("nan")) for name in class_names},
            }
        )
        logger.info(
            f"repeat {repeat + 1}/{repeats}, fold {fold + 1}/{k}, {task}, {arm}: "
            f"{MAIN_SCORE[task]} {rows[-1][MAIN_SCORE[task]]:.3f} ({time.perf_counter() - start:.0f} s)"
        )
    setup = {
        "generator": "none (no synthetic arm)" if source is None else source.describe(),
        "held_out_source": rois.source,
        "k": k,
        "repeats": repeats,
        "steps": steps,
        "batch_size": batch_size,
        "truncation": truncation,
        "rare_classes": list(rare_classes),
        "rare_fraction": rare_fraction,
        "normal_test_rois": len(rois.normal_held_out),
        "external": rois.external,
        "min_confidence": min_confidence,
    }
    return _write_downstream(Path(output_dir), rows, tasks, names, class_names, setup)


def _text(mean: float, low: float, high: float, lowest: float = 0.0) -> str:
    """ "mean [low, high]" with the bounds clipped to [lowest, 1] (every score is in [0, 1], a difference in [-1,
    1])."""
    return f"{mean:.3f} [{max(low, lowest):.3f}, {min(high, 1.0):.3f}]"


def _summaries(rows: list[dict], arms: Sequence[str], metrics: list[str]) -> tuple[list[dict], list[dict]]:
    """(table rows with "mean [low, high]" text, CSV rows with the numbers) of the per-arm t-intervals."""
    table, numbers = [], []
    for arm in arms:
        ranges = {m: interval([r[m] for r in rows if r["arm"] == arm]) for m in metrics}
        table.append({"arm": arm, **{m: _text(*r) for m, r in ranges.items()}})
        numbers.append(
            {"arm": arm, **{f"{m}_{part}": v for m, r in ranges.items() for part, v in zip(("mean", "low", "high"), r)}}
        )
    return table, numbers


def _paired(rows: list[dict], arm: str, base: str, metric: str) -> tuple[float, float, float]:
    """Mean paired difference ``arm - base`` of ``metric`` over folds and repeats, with the corrected interval."""
    by_fold = {(r["repeat"], r["fold"], r["arm"]): r for r in rows}
    keys = sorted({(r["repeat"], r["fold"]) for r in rows})
    diffs = [by_fold[(*key, arm)][metric] - by_fold[(*key, base)][metric] for key in keys]
    ratio = np.mean([by_fold[(*key, base)]["test_rois"] / by_fold[(*key, base)]["real_train_rois"] for key in keys])
    return interval(diffs, variance_factor=1 / len(keys) + ratio)


def verdict(rows: list[dict], arms: Sequence[str], metric: str) -> list[dict]:
    """Each synthetic arm against the best non-synthetic arm (highest mean ``metric``): the paired difference, its
    interval, and "better" (interval above 0), "worse" (below 0) or "no difference seen"."""
    base_arms = [a for a in arms if a in NON_SYNTHETIC_ARMS]
    if not base_arms:
        return []
    best = max(base_arms, key=lambda a: np.nanmean([r[metric] for r in rows if r["arm"] == a]))
    out = []
    for arm in (a for a in arms if a not in NON_SYNTHETIC_ARMS):
        mean, low, high = _paired(rows, arm, best, metric)
        word = "better" if low > 0 else "worse" if high < 0 else "no difference seen"
        out.append({"arm": arm, "against": best, "difference": _text(mean, low, high, lowest=-1.0), "verdict": word})
    return out


def _task_section(task: str, rows: list[dict], arms: Sequence[str], class_names: Sequence[str]) -> list[str]:
    metrics = metric_names(task, class_names)
    table, _ = _summaries(rows, arms, metrics)
    return [
        f"## {task}: every arm, mean over folds and repeats, 95% t-interval (bounds clipped to [0, 1])",
        "",
        markdown_table(table, ["arm", *metrics], ["arm", *(m.replace("_", " ") for m in metrics)]),
        "",
    ]


def _acceptance(rows: list[dict], class_names: Sequence[str], setup: dict) -> list[str]:
    """The report line of the sample filter's mean acceptance rate per class (none without a filtered arm)."""
    filtered = [r for r in rows if r["arm"] == "synthetic_filtered"]
    if not filtered:
        return []
    rates = {n: [r[f"accepted_{n}"] for r in filtered if np.isfinite(r[f"accepted_{n}"])] for n in class_names}
    shown = ", ".join(f"{n} {np.mean(v):.2f}" if v else f"{n} (none asked)" for n, v in rates.items())
    return [
        f"- Sample filter (`synthetic_filtered`): synthetic ROIs kept when a classifier fitted on the fold's real "
        f"lesion ROIs gives their class at least {setup['min_confidence']:g}; accepted per class, mean over "
        f"classifiers: {shown}"
    ]


def _write_downstream(
    output_dir: Path,
    rows: list[dict],
    tasks: Sequence[str],
    arms: Sequence[str],
    class_names: Sequence[str],
    setup: dict,
) -> Path:
    """``downstream.md``, ``downstream_folds.csv`` and ``downstream_summary.csv`` in ``output_dir``."""
    output_dir.mkdir(parents=True, exist_ok=True)
    write_csv(output_dir / "downstream_folds.csv", rows)
    summary = []
    for task in tasks:
        of_task = [r for r in rows if r["task"] == task]
        summary += [{"task": task, **n} for n in _summaries(of_task, arms, metric_names(task, class_names))[1]]
    write_csv(output_dir / "downstream_summary.csv", summary)
    caveat = []
    if setup["rare_fraction"] < 1:
        caveat = [
            "",
            f"**Caveat:** rare classes were subsampled to {setup['rare_fraction']:.0%} of their training "
            "women. Unless the generator was trained without the same women, the synthetic arms carry "
            "information that the other arms were denied, and the comparison favours them.",
        ]
    lines = ["# Downstream experiment: does synthesis beat what a researcher would do without it?", ""]
    for task in tasks:
        of_task = [r for r in rows if r["task"] == task]
        lines += [
            f"## Verdict, {task} ({MAIN_SCORE[task].replace('_', ' ')})",
            "",
            markdown_table(
                verdict(of_task, arms, MAIN_SCORE[task]),
                ["arm", "against", "difference", "verdict"],
                ["synthetic arm", "best non-synthetic arm", "paired difference [95% interval]", "verdict"],
            ),
            "",
        ]
    lines += [
        f"- Generator: {setup['generator']} (truncation psi {setup['truncation']})",
        (
            f"- Test set: {setup['held_out_source']}, whole, for every classifier; {setup['k']}-fold by woman over the "
            f"training ROIs, {setup['repeats']} repeat(s)"
            if setup["external"]
            else f"- Test folds: {setup['k']}-fold over {setup['held_out_source']}, by woman, "
            f"{setup['repeats']} repeat(s)"
        )
        + f"; {setup['normal_test_rois']} normal-tissue test ROIs; "
        + "neither the generator nor any classifier saw a test woman",
        "- Training per fold: the generator's training ROIs plus the other folds' held-out ROIs; rare classes "
        f"{setup['rare_classes']} kept at {setup['rare_fraction']:.0%} of their women",
        f"- Classifier: ROIClassifier, Adam 1e-3, {setup['steps']} steps of batch {setup['batch_size']}, the same seed "
        "per fold in every arm (arms: monai_roigan.evaluation.arms)",
        "- Intervals of differences: paired over folds and repeats, variance factor 1/(k r) + n_test/n_train "
        "(Nadeau and Bengio), clipped to [-1, 1]. Each is a 95% interval on its own: with several synthetic arms "
        "and tasks, about one comparison in twenty crosses 0 by chance alone",
        *_acceptance(rows, class_names, setup),
        *caveat,
        "",
    ]
    for task in tasks:
        lines += _task_section(task, [r for r in rows if r["task"] == task], arms, class_names)
    lines += ["Per fold: `downstream_folds.csv`; numbers: `downstream_summary.csv`.", ""]
    report = output_dir / "downstream.md"
    report.write_text("\n".join(lines), encoding="utf-8")
    logger.info(
        "downstream: wrote %s, %s and %s in %s",
        report.name,
        "downstream_folds.csv",
        "downstream_summary.csv",
        output_dir,
    )
    return report
