"""The downstream experiment: does synthesis beat what a researcher would do without it?

:func:`run_downstream` is what ``bundle/configs/downstream.json`` runs. The same ROI classifier
(:class:`~monai_roigan.networks.nets.ROIClassifier` trained by :func:`train_arm_classifier`: the same network,
steps and seed in every arm) is trained in each arm (:mod:`monai_roigan.evaluation.arms`) and scored on ROIs of
women that neither the generator nor the classifier saw, in two tasks:

- ``lesion_type``: the K lesion classes (one-vs-rest AUC per class, accuracy, balanced accuracy, recall per class);
- ``abnormal_vs_normal``: the K lesion classes and normal tissue (needs ``normal_per_image > 0``): the AUC of each
  lesion class against normal tissue (the class's probability, on that class's test ROIs and the normal test
  ROIs), and the sensitivity of each class at 90% specificity. Normal ROIs make hundreds of negatives, so this
  task sees effects the 4-class task cannot.

Each task's headline is the mean AUC of the ``primary_classes`` (by default the rare classes); the mean over all
classes is secondary.

**Folds, by woman, repeated.** The test folds partition the held-out women (lesion and normal ROIs together,
:func:`~monai_roigan.data.splits.group_kfold`, stratified by class); ``repeats`` repetitions draw new folds. A
fold's training set is the generator's training ROIs plus the other folds' held-out ROIs. With
``rare_fraction`` below 1 only that share of the ``rare_classes``' training women is kept. With an external test
set, the folds split the training women and every classifier is scored on the whole external set.

**Verdict.** :mod:`monai_roigan.evaluation.judge`: each synthetic arm against the best arm without synthesis,
with a standard error from a bootstrap over test women plus the variance over folds, repeats and generators,
Holm's correction over the synthetic arms, and the smallest difference the test set could see. The report:
:mod:`monai_roigan.evaluation.downstream_report`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from os import PathLike
from pathlib import Path

import numpy as np
import torch

from monai_roigan.apps.counterpart import load_counterpart_women, women_record_path
from monai_roigan.apps.sample_filter import check_min_confidence
from monai_roigan.data.splits import group_kfold, holdout_groups
from monai_roigan.engines.classifier import train_roi_classifier
from monai_roigan.evaluation.arms import (
    ARMS,
    COUNTERPART_ARMS,
    GENERATOR_FREE_ARMS,
    NON_SYNTHETIC_ARMS,
    ArmData,
    arm_dataset,
    arm_inputs,
    check_inserted_source,
    expand_arms,
)
from monai_roigan.evaluation.data import EvaluationROIs, ROISet, as_evaluation_rois
from monai_roigan.evaluation.downstream_report import write_downstream
from monai_roigan.evaluation.judge import (
    HEADLINE,
    Classified,
    auc_scores,
    delong_rows,
    judge,
    score_names,
    write_predictions,
)
from monai_roigan.evaluation.statistics import interval, weighted_auc
from monai_roigan.networks.source import GeneratorSource
from monai_roigan.transforms.counterpart import NormalCounterpart
from monai_roigan.utils.progress import progress

__all__ = [
    "MAIN_SCORE",
    "TASKS",
    "fold_scores",
    "interval",
    "normal_scores",
    "run_downstream",
    "sensitivity_at_specificity",
    "train_arm_classifier",
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
    """Accuracy, balanced accuracy (mean recall over the classes present), each class's one-vs-rest AUC
    (``auc_<class>``) and their mean (``macro_auc``, over classes with positives and negatives), and per-class
    recall (``recall_<class>``, NaN for an absent class) of class probabilities (N, K) against labels (N,)."""
    predicted = probs.argmax(1)
    recall = {
        f"recall_{n}": float(np.mean(predicted[labels == k] == k)) if np.any(labels == k) else float("nan")
        for k, n in enumerate(class_names)
    }
    return {
        "accuracy": float(np.mean(predicted == labels)),
        "balanced_accuracy": float(np.nanmean(list(recall.values()))),
        **auc_scores("lesion_type", probs, labels, class_names),
        **recall,
    }


@torch.no_grad()
def predict(net: torch.nn.Module, images: np.ndarray) -> np.ndarray:
    """Class probabilities (N, K) of ROIs (N, 1, S, S) in [-1, 1]."""
    return torch.softmax(net(torch.as_tensor(images)), 1).numpy()


def fold_scores(net: torch.nn.Module, test: ROISet, class_names: Sequence[str]) -> dict[str, float]:
    """:func:`scores` of ``net`` on ``test``."""
    return scores(predict(net, test.images), test.labels, class_names)


TASKS = ("lesion_type", "abnormal_vs_normal")
MAIN_SCORE = HEADLINE


def train_arm_classifier(
    dataset,
    num_classes: int,
    steps: int,
    batch_size: int = 32,
    seed: int = 0,
    balanced: bool = False,
    network: torch.nn.Module | None = None,
    in_channels: int = 1,
) -> torch.nn.Module:
    """The classifier every arm trains: :func:`~monai_roigan.engines.train_roi_classifier` for ``steps`` full batches
    (Adam 1e-3, channels-last), everything random drawn from ``seed``; the global RNGs are left untouched;
    ``in_channels`` 2 for the counterpart arms' [ROI, residual]."""
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
        in_channels=in_channels,
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
    out = auc_scores("abnormal_vs_normal", probs, labels, class_names)
    for k, name in enumerate(class_names):
        out[f"sens90_{name}"] = sensitivity_at_specificity(probs[labels == k, k], probs[normal, k])
    abnormal = 1 - probs[:, -1]
    out["abnormal_auc"] = float(
        weighted_auc(abnormal[~normal], abnormal[normal], np.ones((1, (~normal).sum())), np.ones((1, normal.sum())))[0]
    )
    return out


def task_scores(
    task: str, probs: np.ndarray, labels: np.ndarray, class_names: Sequence[str], primary_classes: Sequence[str]
) -> dict[str, float]:
    """The scores of ``task`` (see the module docstring) of class probabilities (N, K or K+1) against labels (N,),
    headline first: the mean AUC of the ``primary_classes``."""
    headline = HEADLINE[task]
    rest = scores(probs, labels, class_names) if task == "lesion_type" else normal_scores(probs, labels, class_names)
    return {headline: auc_scores(task, probs, labels, class_names, primary_classes)[headline], **rest}


def metric_names(task: str, class_names: Sequence[str]) -> list[str]:
    """The columns of a task's table of arms: the judged AUCs (:func:`~monai_roigan.evaluation.judge.score_names`),
    then the task's other scores."""
    extra = ["balanced_accuracy", "accuracy", *(f"recall_{n}" for n in class_names)]
    if task == "abnormal_vs_normal":
        extra = ["abnormal_auc", *(f"sens90_{n}" for n in class_names)]
    return [*score_names(task, class_names), *extra]


def _check_inputs(tasks, arms, normals_train: ROISet, normals_held: ROISet, held_out: ROISet, class_names) -> None:
    """Every configuration error, before any classifier is trained."""
    unknown = sorted(set(tasks) - set(TASKS))
    if unknown:
        raise ValueError(f"unknown task(s) {unknown}; expected some of {TASKS}")
    tissue_arms = {"copy_paste", "transplant", "copy_paste_seamless", "copy_paste_counterpart", "inserted"}
    needs_normals = "abnormal_vs_normal" in tasks or bool(tissue_arms & set(arms))
    if needs_normals and (len(normals_train) == 0 or len(normals_held) == 0):
        raise ValueError(
            "the abnormal_vs_normal task and the arms that move lesions into tissue need normal-tissue ROIs on "
            "both sides: "
            "set normal_per_image > 0 (the data must hold normal mammograms)"
        )
    empty = [n for k, n in enumerate(class_names) if not np.any(held_out.labels == k)]
    if empty:
        raise ValueError(f"the test ROIs hold no ROI of class(es) {empty}")


def check_test_women(test: ROISet, class_names: Sequence[str], primary_classes: Sequence[str], source: str) -> None:
    """Refuse a test set the judge cannot resample: fewer than 2 women, or fewer than 2 women with ROIs of a
    primary class (the bootstrap over women needs two of each), or a primary class that is not a lesion class.

    Raises:
        ValueError: naming the test set (``source``), the class and the count.
    """
    unknown = sorted(set(primary_classes) - set(class_names))
    if unknown or not primary_classes:
        raise ValueError(
            f"primary_classes {list(primary_classes)} must be some of the lesion classes {list(class_names)}"
        )
    women = set(test.groups.tolist())
    if len(women) < 2:
        raise ValueError(
            f"the test set ({source}) holds {len(women)} {'woman' if len(women) == 1 else 'women'}; the judge "
            "resamples test women and needs at least 2"
        )
    for name in primary_classes:
        of_class = set(test.groups[test.labels == list(class_names).index(name)].tolist())
        if len(of_class) < 2:
            raise ValueError(
                f"the test set ({source}) holds {len(of_class)} {'woman' if len(of_class) == 1 else 'women'} with "
                f"{name} ROIs; the headline is judged over "
                f"test women and needs at least 2 per primary class: hold out more women, or leave {name} out of "
                "primary_classes"
            )


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
    """(lesion training ROIs, normal training ROIs, test ROIs, the fold left out) of each fold.

    Held-out folds: the folds split the held-out women; a fold trains on ``train`` and the other folds, and its
    test ROIs are the fold left out. External: the folds split the training women; a fold trains on the other
    folds and tests on all of ``held``. The fold left out gives Nadeau and Bengio's ``n_test / n_train``.
    """
    pool = ROISet.concat([train, normal_train] if external else [held, normal_held])
    folds = group_kfold(pool.groups, pool.labels, k, seed)
    for fold in range(k):
        rest = pool.subset(folds != fold)
        base = [] if external else [train]
        lesions = ROISet.concat([*base, rest.subset(rest.labels < num_classes)])
        normals = ROISet.concat([*([] if external else [normal_train]), rest.subset(rest.labels == num_classes)])
        left_out = pool.subset(folds == fold)
        test = ROISet.concat([held, normal_held]) if external else left_out
        yield lesions, normals, test, left_out


def _fold_classifier(arm: str, data: ArmData, num_classes: int, steps: int, batch_size: int, seed: int):
    """(trained classifier, training-set size, {class: sample-filter acceptance rate}) of one arm on one fold."""
    dataset = arm_dataset(arm, data)
    first = steps // 2 if arm == "two_phase" else steps
    balance = data.oversample_power if arm == "oversample" else False
    channels = 2 if arm in COUNTERPART_ARMS else 1
    net = train_arm_classifier(dataset, num_classes, first, batch_size, seed, balanced=balance, in_channels=channels)
    if arm == "two_phase":  # fine-tune on the real ROIs only
        net = train_arm_classifier(
            arm_dataset("classic", data), num_classes, steps - first, batch_size, seed + 1, network=net
        )
    rates = dataset.acceptance_rates() if hasattr(dataset, "acceptance_rates") else {}
    return net, len(dataset), rates


def _jobs(rois: EvaluationROIs, class_names: Sequence[str], plan: dict, sources: list, arm_options: dict):
    """``(repeat, fold, task, arm, generator, ArmData, test ROIs, size of the fold left out)`` of every classifier
    to train, in the report's order. A synthetic arm gets one classifier per generator in ``sources``; the others
    one (generator 0).

    ``plan``: ``k``, ``repeats``, ``tasks``, ``arms``, ``rare`` (class indices), ``rare_fraction``, ``seed`` and
    ``counterpart_women`` (their normal ROIs are left out of the counterpart arms' training ROIs);
    ``arm_options``: the :class:`ArmData` settings shared by every fold (truncation, sample filter, baselines).
    """
    for repeat in range(plan["repeats"]):
        repeat_seed = plan["seed"] + 1000 * repeat
        folds = _fold_sets(
            rois.train,
            rois.held_out,
            rois.normal_train,
            rois.normal_held_out,
            len(class_names),
            plan["k"],
            repeat_seed,
            rois.external,
        )
        for fold, (lesions, normals, test, left_out) in enumerate(folds):
            lesions = _keep_rare_share(lesions, plan["rare"], plan["rare_fraction"], repeat_seed + fold)
            counterpart_normals = _without_women(normals, plan["counterpart_women"])
            for task in plan["tasks"]:
                with_normal = task == "abnormal_vs_normal"
                task_test = test if with_normal else test.subset(test.labels < len(class_names))
                task_left_out = len(left_out) if with_normal else int(np.sum(left_out.labels < len(class_names)))
                for arm in plan["arms"]:
                    arm_rois = lesions, counterpart_normals if arm in COUNTERPART_ARMS else normals
                    for generator, source in enumerate(sources[:1] if arm in GENERATOR_FREE_ARMS else sources):
                        data = ArmData(*arm_rois, source, class_names, with_normal, repeat_seed + fold, **arm_options)
                        yield repeat, fold, task, arm, generator, data, task_test, task_left_out


def _counterpart(
    model: str | PathLike | torch.nn.Module | None,
    names: Sequence[str],
    women: Sequence[str] | None,
    rois: EvaluationROIs,
) -> tuple[NormalCounterpart | None, frozenset[str]]:
    """(the counterpart arms' transform (residual output) of ``model``, the women it learned from), or
    ``(None, frozenset())`` when none of those arms runs. ``women`` None: read from the record beside the in-filler's
    weights file (:func:`~monai_roigan.apps.load_counterpart_women`).

    Raises:
        ValueError: a counterpart arm without a model, an in-filler module without ``women``, ``women`` given as one
            string, an in-filler that learned from a held-out woman, or one whose women leave no normal-tissue
            training ROI (named); FileNotFoundError / ValueError: a missing file, a missing or stale record, or a
            generator that is not a context generator (named).
    """
    if not set(names) & set(COUNTERPART_ARMS):
        return None, frozenset()
    if model is None:
        raise ValueError(f"the arms {sorted(set(names) & set(COUNTERPART_ARMS))} need counterpart_model")
    if isinstance(women, str):
        raise ValueError(f"counterpart_women must be a list of women, got the string {women!r}")
    transform = NormalCounterpart(model, output="residual")  # a missing file or a wrong generator fails first
    path = transform.source.path
    if women is None and path is None:
        raise ValueError("an in-filler module needs counterpart_women: the women whose tissue it learned")
    where = "counterpart_women" if women is not None else f"the record {women_record_path(path)}"
    women = frozenset(map(str, load_counterpart_women(path) if women is None else women))
    held = np.concatenate([rois.held_out.groups, rois.normal_held_out.groups]).astype(str)
    seen = sorted(women & set(held.tolist()))
    if seen:
        raise ValueError(
            f"{where} says the tissue in-filler learned from held-out women {seen[:5]}{' ...' if len(seen) > 5 else ''}"
            ": train it with this experiment's holdout_fraction and split_seed (bundle/configs/counterpart.json)"
        )
    training = set(np.concatenate([rois.train.groups, rois.normal_train.groups]).astype(str).tolist())
    if women - training:
        logger.warning("%s names %d women with no training ROI here", where, len(women - training))
    if rois.external and len(rois.normal_train) and not len(_without_women(rois.normal_train, women)):
        raise ValueError(f"{where} names every woman with normal tissue: the counterpart arms would have none")
    return transform, women


def _without_women(rois: ROISet, women: frozenset[str]) -> ROISet:
    """``rois`` without the ROIs of ``women`` (``group`` strings)."""
    return rois.subset(~np.isin(rois.groups.astype(str), sorted(women))) if women else rois


def _sources(generator, wanted: set[str], num_classes: int) -> list[GeneratorSource | None]:
    """One :class:`GeneratorSource` per generator (``generator`` may be a list of them), or ``[None]`` when no
    synthetic arm is asked for."""
    generators = list(generator) if isinstance(generator, (list, tuple)) else [generator]
    if not wanted:
        return [None]
    kind = "context" if wanted == {"inserted"} else None  # in-filling alone needs no context bank
    return [GeneratorSource(g, num_classes=num_classes, kind=kind) for g in generators]


def run_downstream(
    generator: str | PathLike | torch.nn.Module | Sequence[str | PathLike | torch.nn.Module],
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
    primary_classes: Sequence[str] | None = None,
    bootstrap_draws: int = 1000,
    copy_paste_options: Mapping | None = None,
    oversample_power: float = 1.0,
    residual_scale: float = 1.0,
    counterpart_model: str | PathLike | torch.nn.Module | None = None,
    counterpart_women: Sequence[str] | None = None,
) -> Path:
    """Run the experiment (see the module docstring); writes ``downstream.md``, ``downstream_folds.csv``,
    ``downstream_summary.csv``, ``downstream_verdict.csv`` and ``downstream_predictions.csv`` (every test
    prediction, to judge again with :func:`~monai_roigan.evaluation.judge.read_predictions`) into ``output_dir``
    and returns the report's path.

    Args:
        generator: a bundle folder, weights file or generator module, or a list of them (generators of one recipe
            trained with different seeds: each synthetic arm is trained with each, and the verdict pools them).
        rois: the real ROIs (:func:`~monai_roigan.evaluation.evaluation_rois`, or ``EvaluationROIs(train, held_out,
            ...)``): ``train``, the generator's training ROIs (no dihedral copies); ``held_out``, ROIs of women it
            never saw; ``source``, their origin for the report; ``normal_train`` and ``normal_held_out``,
            normal-tissue ROIs of the training and the held-out women (label K; the ``abnormal_vs_normal`` task
            and the copy-paste arms need them); ``external``: ``held_out`` is an external test set, so the folds
            split the training ROIs (``train`` and ``normal_train``) by woman, and every classifier is scored on
            the whole external set.
        class_names: the generator's classes in label order (the lesion classes).
        k: folds over the held-out women; repeats: how many times new folds are drawn.
        arms: see :mod:`monai_roigan.evaluation.arms` (None: every arm that applies; the counterpart arms only with a
            ``counterpart_model``, ``inserted``
            only for a context generator); synthetic_shares: the shares of ``synthetic_share``.
        rare_classes, rare_fraction: keep only ``rare_fraction`` of these classes' training women per fold.
            Below 1 this is fair only if the generator was trained without the same women; otherwise the
            synthetic arms carry information the other arms were denied (the report says so).
        steps, batch_size: classifier optimisation steps and batch size (the same in every arm).
        truncation: latent scale psi of the synthetic ROIs (as evaluation and inference; the bundle default 1.0 is the
        full range).
        seed: seed of the folds, the subsampling, the classifiers, the synthetic ROIs and the bootstrap.
        tasks: some of :data:`TASKS`.
        min_confidence: the sample filter's threshold in the ``synthetic_filtered`` arm.
        primary_classes: the classes of the headline (:mod:`monai_roigan.evaluation.judge`); None: the
            ``rare_classes``, or every class when there are none.
        bootstrap_draws: draws of the bootstrap over test women.
        copy_paste_options: options of :class:`~monai_roigan.transforms.CopyPasteLesiond` in the ``copy_paste``
            arm (mask radii, ``radius_range``, ``intensity_match``, jitter); oversample_power: the class-balancing
            power of ``oversample`` (:func:`~monai_roigan.engines.balancing_weights`). Tune both on training women
            only (:func:`~monai_roigan.evaluation.tune_baselines`).
        residual_scale: the ``scale`` a residual generator was trained with (``synthetic_transplant``;
            ``train.json``'s ``residual_scale``).
        counterpart_model: the tissue in-filler of the counterpart arms (``bundle/configs/counterpart.json``'s
            ``models/counterpart.pt``, or any context generator); read only when one of them runs.
        counterpart_women: the women (``group`` strings) whose tissue the in-filler learned; None: read from the
            record beside ``counterpart_model`` (:func:`~monai_roigan.apps.women_record_path`). The counterpart arms'
            classifiers train without their normal-tissue ROIs (an in-filler explains its own training tissue
            better than a test woman's), and an in-filler that learned from a held-out woman is refused.

    Raises:
        ValueError: an unknown task or arm, a task or arm that needs normal ROIs without them, a class without
            test ROIs, a primary class that is not a lesion class or has fewer than 2 test women, fewer than 2
            test women, or the ``inserted`` arm without a context generator; all before any training.
    """
    none = ROISet.from_items([])
    rois = as_evaluation_rois(rois, "run_downstream")
    rois = rois._replace(normal_train=rois.normal_train or none, normal_held_out=rois.normal_held_out or none)
    primary_classes = list(primary_classes or rare_classes or class_names)
    names = expand_arms(ARMS if arms is None else arms, synthetic_shares)  # an unknown arm fails first
    sources = _sources(generator, set(names) - set(GENERATOR_FREE_ARMS), len(class_names))
    if arms is None and sources[0].kind != "context":
        names = [n for n in names if n != "inserted"]
    if arms is None and counterpart_model is None:
        names = [n for n in names if n not in COUNTERPART_ARMS]
    _check_inputs(tasks, names, rois.normal_train, rois.normal_held_out, rois.held_out, class_names)
    check_test_women(ROISet.concat([rois.held_out, rois.normal_held_out]), class_names, primary_classes, rois.source)
    if "inserted" in names:
        for source in sources:
            check_inserted_source(source)
    rare = [list(class_names).index(n) for n in rare_classes]
    min_confidence = check_min_confidence(min_confidence)
    baselines = {"copy_paste_options": dict(copy_paste_options or {}), "oversample_power": float(oversample_power)}
    plan = {"k": k, "repeats": repeats, "tasks": tasks, "arms": names, "rare": rare, "rare_fraction": rare_fraction}
    counterpart, women = _counterpart(counterpart_model, names, counterpart_women, rois)
    arm_options = {
        "truncation": truncation,
        "min_confidence": min_confidence,
        "residual_scale": residual_scale,
        "counterpart": counterpart,
        **baselines,
    }
    counterpart_left_out = None
    if counterpart is not None:
        left = len(rois.normal_train) - len(_without_women(rois.normal_train, women))
        counterpart_left_out = {"women": len(women), "rois": left}
        logger.info("counterpart arms: %d normal ROIs of the in-filler's %d women left out", left, len(women))
    jobs = _jobs(rois, class_names, {**plan, "seed": seed, "counterpart_women": women}, sources, arm_options)
    total = repeats * k * len(tasks) * sum(1 if n in GENERATOR_FREE_ARMS else len(sources) for n in names)
    rows, records = [], []
    for repeat, fold, task, arm, generator_index, data, test, left_out in progress(
        jobs, "downstream classifiers", total, logger, "classifiers"
    ):
        start = time.perf_counter()
        num_classes = len(class_names) + (task == "abnormal_vs_normal")
        net, size, rates = _fold_classifier(arm, data, num_classes, steps, batch_size, data.seed)
        probs = predict(net, arm_inputs(arm, data, test.images))
        ratio = left_out / len(data.real())
        records.append(Classified(task, arm, generator_index, repeat, fold, probs, test.labels, test.groups, ratio))
        rows.append(
            {
                "task": task,
                "generator": generator_index,
                "repeat": repeat,
                "fold": fold,
                "arm": arm,
                "train_rois": size,
                "real_train_rois": len(data.real()),
                "test_rois": len(test),
                "left_out_rois": left_out,
                "test_women": len(set(test.groups.tolist())),
                **task_scores(task, probs, test.labels, class_names, primary_classes),
                **{f"accepted_{name}": rates.get(name, float("nan")) for name in class_names},
            }
        )
        logger.info(
            f"repeat {repeat + 1}/{repeats}, fold {fold + 1}/{k}, {task}, {arm}"
            + (f" (generator {generator_index + 1}/{len(sources)})" if len(sources) > 1 else "")
            + f": {MAIN_SCORE[task]} {rows[-1][MAIN_SCORE[task]]:.3f} ({time.perf_counter() - start:.0f} s)"
        )
    verdicts = {}
    for task in tasks:
        of_task = [r for r in records if r.task == task]
        rows_of_task = judge(of_task, names, NON_SYNTHETIC_ARMS, class_names, primary_classes, bootstrap_draws, seed)
        external = rois.external and task == "abnormal_vs_normal"
        checks = delong_rows(of_task, rows_of_task, class_names, primary_classes) if external else []
        verdicts[task] = (rows_of_task, checks)
    setup = {
        "generator": "none (no synthetic arm)" if sources[0] is None else sources[0].describe(),
        "generators": len(sources),
        "held_out_source": rois.source,
        "k": k,
        "repeats": repeats,
        "steps": steps,
        "batch_size": batch_size,
        "truncation": truncation,
        "rare_classes": list(rare_classes),
        "rare_fraction": rare_fraction,
        "primary_classes": primary_classes,
        "bootstrap_draws": bootstrap_draws,
        "test_women": len(set(ROISet.concat([rois.held_out, rois.normal_held_out]).groups.tolist())),
        "normal_test_rois": len(rois.normal_held_out),
        "external": rois.external,
        "min_confidence": min_confidence,
        "counterpart_left_out": counterpart_left_out,
        **baselines,
    }
    Path(output_dir).mkdir(parents=True, exist_ok=True)
    write_predictions(Path(output_dir) / "downstream_predictions.csv", records)
    metrics = {task: metric_names(task, class_names) for task in tasks}
    return write_downstream(Path(output_dir), rows, verdicts, names, class_names, metrics, setup)
