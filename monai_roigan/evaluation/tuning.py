"""Tuning the baselines as hard as the generators: the classifier's steps, ``copy_paste`` and ``oversample``.

A synthetic arm that beats a baseline left at its first settings has beaten a straw man. :func:`tune_baselines`
chooses, on the generator's *training* women only (never a test woman, nor a held-out one), by k-fold by woman:

1. **the classifier's steps**, from a learning curve of the ``classic`` arm: the fewest steps whose mean headline
   is within one standard error of the best (the one-standard-error rule);
2. **``copy_paste``'s options** (:class:`~monai_roigan.transforms.CopyPasteLesiond`: mask radius, softness,
   radius jitter, intensity matching), at those steps: the best mean headline;
3. **``oversample``'s balancing power** (:func:`~monai_roigan.engines.balancing_weights`), at those steps.

The headline is the downstream judge's (the mean AUC of the primary classes, :mod:`~monai_roigan.evaluation.judge`)
in the ``abnormal_vs_normal`` task. It writes ``tuning.md`` (the curves, the grids and the chosen settings as the
JSON to put in ``downstream.json``) and ``tuning.csv`` (one row per classifier). The folds hold few rare lesions,
so the choice is noisy; it is made once, recorded in the results log, and the downstream run uses it for every
arm's classifier.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from os import PathLike
from pathlib import Path

import numpy as np

from monai_roigan.data.splits import group_kfold
from monai_roigan.evaluation.arms import ArmData, arm_dataset
from monai_roigan.evaluation.data import EvaluationROIs, ROISet, as_evaluation_rois
from monai_roigan.evaluation.downstream import predict, train_arm_classifier
from monai_roigan.evaluation.judge import HEADLINE, auc_scores
from monai_roigan.utils.report import markdown_table, write_csv

__all__ = ["DEFAULT_COPY_PASTE_GRID", "tune_baselines"]

logger = logging.getLogger("monai_roigan.tuning")

TASK = "abnormal_vs_normal"


def _copy_paste_grid() -> list[dict]:
    """The copy-paste options tried by default: the transform's defaults, then 18 variants of mask radius
    (outer edge 0.45, 0.6 or 0.8 of the half-width), softness (flat core 0.4 or 0.8 of it) and intensity matching
    (none, half-way or all the way), each with the radius drawn per paste in 0.7-1.3 of it."""
    grid = [{"inner": 0.35, "outer": 0.6, "radius_range": [1.0, 1.0], "intensity_match": 1.0}]
    for outer in (0.45, 0.6, 0.8):
        for core in (0.4, 0.8):
            for match in (0.0, 0.5, 1.0):
                grid.append(
                    {
                        "inner": round(core * outer, 3),
                        "outer": outer,
                        "radius_range": [0.7, 1.3],
                        "intensity_match": match,
                    }
                )
    return grid


DEFAULT_COPY_PASTE_GRID = _copy_paste_grid()


def _inner_folds(rois: EvaluationROIs, num_classes: int, k: int, seed: int):
    """(lesion ROIs, normal ROIs, validation ROIs) of each fold over the training women only."""
    pool = ROISet.concat([rois.train, rois.normal_train])
    folds = group_kfold(pool.groups, pool.labels, k, seed)
    for fold in range(k):
        rest = pool.subset(folds != fold)
        yield (
            rest.subset(rest.labels < num_classes),
            rest.subset(rest.labels == num_classes),
            pool.subset(folds == fold),
        )


def _score(arm: str, data: ArmData, validation: ROISet, steps: int, batch_size: int, primary) -> float:
    """The headline of one classifier of ``arm`` trained on ``data`` and scored on ``validation``."""
    balance = data.oversample_power if arm == "oversample" else False
    net = train_arm_classifier(
        arm_dataset(arm, data), len(data.class_names) + 1, steps, batch_size, data.seed, balanced=balance
    )
    scores = auc_scores(TASK, predict(net, validation.images), validation.labels, data.class_names, primary)
    return scores[HEADLINE[TASK]]


def _mean_se(values: Sequence[float]) -> tuple[float, float]:
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return float(v.mean()), float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else float("nan")


def tune_baselines(
    rois: EvaluationROIs,
    output_dir: str | PathLike,
    class_names: Sequence[str],
    primary_classes: Sequence[str],
    k: int = 3,
    seed: int = 0,
    batch_size: int = 32,
    steps_grid: Sequence[int] = (100, 200, 400, 800),
    copy_paste_grid: Sequence[Mapping] | None = None,
    oversample_powers: Sequence[float] = (0.5, 0.75, 1.0),
) -> Path:
    """Choose the downstream classifier's steps and the ``copy_paste`` and ``oversample`` settings on the
    training women (module docstring); returns the path of ``tuning.md`` in ``output_dir``.

    Args:
        rois: the evaluation ROIs; only ``train`` and ``normal_train`` are read.
        class_names, primary_classes: the lesion classes and those of the headline.
        k, seed: folds by woman over the training women, and the seed of folds and classifiers.
        batch_size: the classifier's batch.
        steps_grid, copy_paste_grid (None: :data:`DEFAULT_COPY_PASTE_GRID`), oversample_powers: what is tried.

    Raises:
        ValueError: no normal-tissue training ROIs, or a primary class without training ROIs.
    """
    rois = as_evaluation_rois(rois, "tune_baselines")
    if rois.normal_train is None or len(rois.normal_train) == 0:
        raise ValueError("tuning needs normal-tissue training ROIs: set evaluation_normal_per_image > 0")
    missing = [n for n in primary_classes if not np.any(rois.train.labels == list(class_names).index(n))]
    if missing:
        raise ValueError(f"the training ROIs hold no ROI of primary class(es) {missing}")
    grid = [dict(o) for o in (copy_paste_grid or DEFAULT_COPY_PASTE_GRID)]
    folds = list(_inner_folds(rois, len(class_names), k, seed))
    rows: list[dict] = []

    def run(stage: str, arm: str, steps: int, setting: str, **options) -> tuple[float, float]:
        values = []
        for fold, (lesions, normals, validation) in enumerate(folds):
            data = ArmData(lesions, normals, None, class_names, True, seed + fold, **options)
            values.append(_score(arm, data, validation, steps, batch_size, primary_classes))
            rows.append(
                {
                    "stage": stage,
                    "arm": arm,
                    "steps": steps,
                    "setting": setting,
                    "fold": fold,
                    HEADLINE[TASK]: values[-1],
                }
            )
        mean, se = _mean_se(values)
        at = "" if stage == "steps" else f", {steps} steps"
        logger.info(f"tuning {stage}: {arm} {setting}{at}: {HEADLINE[TASK]} {mean:.3f} (se {se:.3f})")
        return mean, se

    curve = {s: run("steps", "classic", s, f"{s} steps") for s in steps_grid}
    best_mean, best_se = max(curve.values())
    steps = min(s for s, (mean, _) in curve.items() if mean >= best_mean - (best_se if np.isfinite(best_se) else 0))
    pastes = [run("copy_paste", "copy_paste", steps, json.dumps(o), copy_paste_options=o) for o in grid]
    powers = [run("oversample", "oversample", steps, f"power {p:g}", oversample_power=p) for p in oversample_powers]
    chosen = {
        "steps": steps,
        "copy_paste_options": grid[int(np.argmax([m for m, _ in pastes]))],
        "oversample_power": float(oversample_powers[int(np.argmax([m for m, _ in powers]))]),
    }
    return _write_tuning(Path(output_dir), rows, chosen, curve, grid, pastes, oversample_powers, powers, k)


def _write_tuning(output_dir: Path, rows, chosen, curve, grid, pastes, powers_tried, powers, k) -> Path:
    output_dir.mkdir(parents=True, exist_ok=True)
    write_csv(output_dir / "tuning.csv", rows)
    headline = HEADLINE[TASK]

    def table(names: list[str], results: list[tuple[float, float]], label: str) -> str:
        shown = [{"setting": n, "mean": f"{m:.3f}", "se": f"{s:.3f}"} for n, (m, s) in zip(names, results)]
        return markdown_table(shown, ["setting", "mean", "se"], [label, f"mean {headline}", "standard error"])

    lines = [
        "# Tuning the baselines on the training women",
        "",
        f"{k}-fold by woman over the generator's training women only; score: `{headline}` in `{TASK}`.",
        "",
        "## Chosen (for downstream.json)",
        "",
        "```json",
        json.dumps(chosen, indent=4),
        "```",
        "",
        "## Learning curve of `classic` (the fewest steps within one standard error of the best)",
        "",
        table([f"{s} steps" for s in curve], list(curve.values()), "steps"),
        "",
        f"## `copy_paste` at {chosen['steps']} steps",
        "",
        table([json.dumps(o) for o in grid], pastes, "options"),
        "",
        f"## `oversample` at {chosen['steps']} steps",
        "",
        table([f"power {p:g}" for p in powers_tried], powers, "balancing power"),
        "",
    ]
    report = output_dir / "tuning.md"
    report.write_text("\n".join(lines), encoding="utf-8")
    logger.info(f"tuning: chosen {json.dumps(chosen)}; wrote {report} and tuning.csv")
    return report
