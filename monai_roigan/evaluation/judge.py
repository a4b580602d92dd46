"""The downstream judge: is a synthetic arm better than the best arm without synthesis, and what could it see?

The downstream experiment (:mod:`monai_roigan.evaluation.downstream`) trains one classifier per arm, fold, repeat
and generator, and scores each on test ROIs of women it never saw. :func:`judge` turns those predictions
(:class:`Classified`) into verdict rows.

**Scores.** AUCs only, because they are what a bootstrap re-weights cleanly: per lesion class, the class against
normal tissue (``abnormal_vs_normal``) or against the other lesion classes (``lesion_type``); the *headline*, their
mean over the ``primary_classes`` (by default the rare classes); and the mean over all classes, as a secondary
score (:func:`score_names`).

**The difference.** Each synthetic arm is compared with the best arm without synthesis (the highest mean
headline), on the same folds, repeats and test ROIs: the mean over classifiers of the paired score difference.

**Its standard error** adds two variances:

- *test women*: a bootstrap over the test women, stratified by each woman's rarest lesion class and rescaled (Rao
  and Wu), with the same draw for both arms and every fold
  (:func:`~monai_roigan.evaluation.statistics.bootstrap_weights`). A class's difference averages the classifiers
  whose test ROIs hold it; the headline averages those class differences;
- *training*: the variance of the paired differences over folds and repeats, with Nadeau and Bengio's factor
  ``1 / n + n_test / n_train`` for training sets that overlap. With several generators it is split into the
  classifiers' variance within a generator and the generators' variance between them (one-way random effects);
  the latter enters as ``var_gan / G``. With one generator the verdict is about that generator, not its recipe.

With held-out folds, fold-to-fold variance already holds part of the test women's variance, so the sum errs on
the wide side. The interval is a t interval whose degrees of freedom (Welch-Satterthwaite) reflect that the
training variance rests on a few folds.

**Several arms.** The intervals use Holm's levels over the synthetic arms of a task, per score
(:func:`~monai_roigan.evaluation.statistics.holm_levels`): "better" and "worse" are the family-wise words.

**What it could see.** Each row gives the smallest difference its test set detects with 80% power at the row's
level (:func:`~monai_roigan.evaluation.statistics.minimum_detectable_difference`).
"""

from __future__ import annotations

import csv
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from os import PathLike

import numpy as np

from monai_roigan.evaluation.statistics import (
    bootstrap_weights,
    delong_difference,
    holm_levels,
    minimum_detectable_difference,
    satterthwaite_df,
    t_interval,
    weighted_auc,
)
from monai_roigan.utils.report import write_csv

__all__ = [
    "Classified",
    "HEADLINE",
    "SECONDARY",
    "auc_scores",
    "delong_rows",
    "read_predictions",
    "write_predictions",
    "judge",
    "score_names",
    "women_strata",
]

HEADLINE = {"lesion_type": "primary_auc", "abnormal_vs_normal": "primary_auc_vs_normal"}
SECONDARY = {"lesion_type": "macro_auc", "abnormal_vs_normal": "mean_auc_vs_normal"}
POWER = 0.8


@dataclass(frozen=True)
class Classified:
    """One classifier's predictions on its test ROIs.

    ``probs`` (N, C): class probabilities (C = lesion classes, plus normal tissue last in ``abnormal_vs_normal``);
    ``labels`` (N,): class index (normal = number of lesion classes); ``groups`` (N,): each ROI's woman;
    ``ratio``: the ROIs of the fold left out of training / the real training ROIs (Nadeau and Bengio's
    ``n_test / n_train``; with an external test set the fold left out is not the test set).
    """

    task: str
    arm: str
    generator: int
    repeat: int
    fold: int
    probs: np.ndarray
    labels: np.ndarray
    groups: np.ndarray
    ratio: float


def class_score(task: str, name: str) -> str:
    """The name of one class's AUC in ``task``."""
    return f"auc_{name}_vs_normal" if task == "abnormal_vs_normal" else f"auc_{name}"


def score_names(task: str, class_names: Sequence[str]) -> list[str]:
    """The judged scores of ``task``: the headline, each class's AUC, then the all-class mean."""
    return [HEADLINE[task], *(class_score(task, n) for n in class_names), SECONDARY[task]]


def women_strata(records: Sequence[Classified], class_names: Sequence[str], primary_classes: Sequence[str]):
    """(women ids, bootstrap stratum of each) of every woman of the test ROIs.

    A woman's stratum is her rarest lesion class (primary classes first, then the others, each ordered by how
    few test women hold it), or ``normal``; a stratum of one woman joins the largest stratum, so that every
    stratum can vary.
    """
    labels = np.concatenate([r.labels for r in records])
    groups = np.concatenate([r.groups for r in records]).astype(str)
    women = np.unique(groups)
    held = {k: set(groups[labels == k].tolist()) for k in range(len(class_names))}
    primary = [list(class_names).index(n) for n in primary_classes]
    order = sorted(primary, key=lambda k: len(held[k])) + sorted(
        (k for k in held if k not in primary), key=lambda k: len(held[k])
    )
    strata = np.array([next((class_names[k] for k in order if w in held[k]), "normal") for w in women])
    names, sizes = np.unique(strata, return_counts=True)
    largest = names[np.argmax(sizes)]
    for name in names[sizes == 1]:
        strata[strata == name] = largest
    return women, strata.tolist()


def _quiet():
    """Silences numpy's "mean of empty slice": an all-NaN draw stays NaN."""
    return warnings.catch_warnings(action="ignore", category=RuntimeWarning)


def auc_scores(
    task: str,
    probs: np.ndarray,
    labels: np.ndarray,
    class_names: Sequence[str],
    primary_classes: Sequence[str] | None = None,
    weights: np.ndarray | None = None,
) -> dict:
    """The judged AUCs of class probabilities ``probs`` (N, C) against ``labels`` (N,) (see :func:`score_names`).

    Without ``weights``, one float per score; with ``weights`` (B, N) (bootstrap weights per ROI), a (B,) array
    per score. NaN for a class without positives or negatives; the headline and the all-class mean average the
    classes that are not NaN (a fold without test ROIs of a primary class scores the others). Without
    ``primary_classes`` the headline is left out.
    """
    num_classes = len(class_names)
    ones = weights is None
    weights = np.ones((1, len(labels))) if ones else weights
    out = {}
    for k, name in enumerate(class_names):
        positive = labels == k
        negative = labels == num_classes if task == "abnormal_vs_normal" else (labels != k) & (labels < num_classes)
        out[class_score(task, name)] = weighted_auc(
            probs[positive, k], probs[negative, k], weights[:, positive], weights[:, negative]
        )
    per_class = np.stack([out[class_score(task, n)] for n in class_names])
    with _quiet():
        if primary_classes is not None:
            out[HEADLINE[task]] = np.nanmean(per_class[[list(class_names).index(n) for n in primary_classes]], 0)
        out[SECONDARY[task]] = np.nanmean(per_class, 0)
    return {name: float(v[0]) for name, v in out.items()} if ones else out


def _variance_parts(differences: np.ndarray, generators: np.ndarray, ratio: float) -> dict[str, float]:
    """The training variance of the mean paired difference over classifiers (folds x repeats x generators).

    Returns ``classifier`` (the variance within a generator), ``gan`` (between generators, one-way random
    effects; NaN with one generator), ``within`` and ``between`` (their contributions to the variance of the mean:
    ``classifier * (1 / n + ratio)``, Nadeau and Bengio, and ``gan / G``) and their degrees of freedom."""
    finite = np.isfinite(differences)
    differences, generators = differences[finite], generators[finite]
    ids = np.unique(generators)
    within = [differences[generators == g] for g in ids]
    df_within = sum(len(w) - 1 for w in within)
    ms_within = sum(((w - w.mean()) ** 2).sum() for w in within) / df_within if df_within else np.nan
    gan = np.nan
    if len(ids) > 1:
        per_generator = len(differences) / len(ids)
        ms_between = per_generator * np.var([w.mean() for w in within], ddof=1)
        gan = max(0.0, (ms_between - ms_within) / per_generator)
    return {
        "classifier": float(ms_within),
        "gan": float(gan),
        "within": float(ms_within * (1 / max(len(differences), 1) + ratio)),
        "df_within": float(df_within),
        "between": float(gan / len(ids)) if np.isfinite(gan) else 0.0,
        "df_between": float(len(ids) - 1),
    }


def _comparisons(scores: dict, arm: str, base: str, task: str, class_names, primary_classes) -> tuple[dict, np.ndarray]:
    """Every score's difference ``arm`` minus ``base``: name -> (mean over classifiers per draw (B,), per
    classifier in the observed sample (U,)), and the generator of each of the U classifiers.

    A class's difference is the mean over the classifiers whose test ROIs hold that class (with held-out folds a
    fold may hold none); the headline and the all-class mean average those class means, so a draw in which a
    class has no difference at all gives NaN rather than a mean of other classes. If a classifier of either arm
    gave no score where its pair did (NaN probabilities: it diverged), every difference is NaN: not measurable.
    """
    keys = sorted(k for k in scores if k[0] == arm)
    names = [class_score(task, n) for n in class_names]
    per_class = {n: np.stack([scores[k][n] - scores[(base, 0, *k[2:])][n] for k in keys]) for n in names}
    observed = [(scores[k][n][0], scores[(base, 0, *k[2:])][n][0]) for k in keys for n in names]
    if any(np.isnan(a) != np.isnan(b) for a, b in observed):  # one classifier scored a class, its pair did not
        per_class = {n: np.full_like(d, np.nan) for n, d in per_class.items()}
    out = {}
    with _quiet():
        means = {n: np.nanmean(d, 0) for n, d in per_class.items()}
        out.update({n: (means[n], per_class[n][:, 0]) for n in names})
        for name, members in (
            (HEADLINE[task], [class_score(task, c) for c in primary_classes]),
            (SECONDARY[task], names),
        ):
            per_unit = np.nanmean(np.stack([per_class[m][:, 0] for m in members]), 0)
            out[name] = (np.mean([means[m] for m in members], 0), per_unit)
    return out, np.array([k[1] for k in keys])


def judge(
    records: Sequence[Classified],
    arms: Sequence[str],
    base_arms: Sequence[str],
    class_names: Sequence[str],
    primary_classes: Sequence[str],
    draws: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
) -> list[dict]:
    """Verdict rows of one task's classifiers (see the module docstring), per score then per synthetic arm.

    ``base_arms`` are the arms without synthesis (their classifiers carry generator 0); the others in ``arms``
    are judged against the best of them. Each row: ``score``, ``arm``, ``against``, ``difference``, ``low``,
    ``high`` (Holm-corrected interval), ``p`` (uncorrected), ``level`` (Holm's per-comparison level), ``df``,
    ``mdd`` (80% power at that level), ``se``, ``se_test``, ``se_training``, ``var_classifier``, ``var_gan``,
    ``finite_draws`` and ``verdict``.

    Raises:
        ValueError: records of more than one task.
    """
    records = list(records)
    if len({r.task for r in records}) != 1:
        raise ValueError(f"judge one task at a time, got {sorted({r.task for r in records})}")
    task = records[0].task
    women, strata = women_strata(records, class_names, primary_classes)
    draw_weights = bootstrap_weights(strata, draws, seed)
    index = {w: i for i, w in enumerate(women)}
    scores = {}
    for r in records:
        weights = draw_weights[:, [index[g] for g in r.groups.astype(str)]]
        key = (r.arm, r.generator, r.repeat, r.fold)
        scores[key] = auc_scores(task, r.probs, r.labels, class_names, weights=weights)  # class AUCs per draw
    ratio = float(np.mean([r.ratio for r in records]))
    base_present = [a for a in base_arms if a in arms]
    synthetic = [a for a in arms if a not in base_arms]
    if not base_present or not synthetic:
        return []

    def headline_mean(arm: str) -> float:
        """The arm's headline as the judge defines it: the mean over primary classes of each class's mean AUC."""
        of_arm = [s for k, s in scores.items() if k[0] == arm]
        with _quiet():
            value = np.mean([np.nanmean([s[class_score(task, c)][0] for s in of_arm]) for c in primary_classes])
        return float(value) if np.isfinite(value) else -np.inf

    best = max(base_present, key=headline_mean)
    compared = {arm: _comparisons(scores, arm, best, task, class_names, primary_classes) for arm in synthetic}
    rows = []
    for name in score_names(task, class_names):
        family = [_row(name, arm, best, *compared[arm][0][name], compared[arm][1], ratio) for arm in synthetic]
        for row, level in zip(family, holm_levels([r["p"] for r in family], alpha)):
            rows.append(_finish(row, level))
    return rows


def _row(name, arm, base, per_draw: np.ndarray, per_unit: np.ndarray, generators: np.ndarray, ratio) -> dict:
    """The uncorrected comparison of ``arm`` with ``base`` on score ``name``."""
    finite = np.isfinite(per_draw[1:])
    var_test = float(np.var(per_draw[1:][finite], ddof=1)) if finite.sum() > 1 else np.nan
    parts = _variance_parts(per_unit, generators, ratio)
    se = float(np.sqrt(var_test + parts["within"] + parts["between"]))
    if finite.mean() < 0.5:
        se = float("nan")  # most draws lack a class: no honest interval
    df = satterthwaite_df(
        [var_test, parts["within"], parts["between"]], [np.inf, parts["df_within"], parts["df_between"]]
    )
    return {
        "score": name,
        "arm": arm,
        "against": base,
        "difference": float(per_draw[0]),
        "p": t_interval(float(per_draw[0]), se, 0.05, df)[2],
        "se": se,
        "df": df,
        "se_test": float(np.sqrt(var_test)),
        "se_training": float(np.sqrt(parts["within"] + parts["between"])),
        "var_classifier": parts["classifier"],
        "var_gan": parts["gan"],
        "generators": len(np.unique(generators)),
        "classifiers": len(generators),
        "finite_draws": float(finite.mean()),
    }


def _finish(row: dict, level: float) -> dict:
    """``row`` with its Holm interval, smallest detectable difference and verdict words."""
    low, high, _ = t_interval(row["difference"], row["se"], level, row["df"])
    mdd = minimum_detectable_difference(row["se"], level, POWER, row["df"])
    word = "better" if low > 0 else "worse" if high < 0 else "no difference seen"
    if not np.isfinite(row["se"]):
        word = "not measurable"
    elif row["se"] == 0 and row["difference"] == 0:
        word = "same predictions"  # e.g. a sample filter that accepted nothing: the arm is its baseline
    return {**row, "low": low, "high": high, "level": float(level), "mdd": mdd, "verdict": word}


def delong_rows(
    records: Sequence[Classified], rows: Sequence[dict], class_names: Sequence[str], primary_classes: Sequence[str]
) -> list[dict]:
    """DeLong's paired test of each headline and per-class row of :func:`judge` on one external test set (the
    ``abnormal_vs_normal`` task): each arm's probabilities are averaged over its classifiers first, so the AUCs
    are those of that average. ROIs count as independent; the p-values are uncorrected."""
    num_classes = len(class_names)
    labels = records[0].labels
    if any(r.task != "abnormal_vs_normal" or not np.array_equal(r.labels, labels) for r in records):
        raise ValueError("DeLong's cross-check needs abnormal_vs_normal classifiers scored on one external test set")
    mean_probs = {}
    for arm in {r.arm for r in records}:
        of_arm = [r for r in records if r.arm == arm]
        mean_probs[arm] = np.mean([r.probs for r in of_arm], 0)
    negative = labels == num_classes
    classes_of = {HEADLINE["abnormal_vs_normal"]: list(primary_classes)}
    classes_of.update({class_score("abnormal_vs_normal", n): [n] for n in class_names})
    out = []
    for row in rows:
        names = classes_of.get(row["score"])
        if names is None:  # the all-class mean: no cross-check
            continue
        ks = [list(class_names).index(n) for n in names]
        pair = [mean_probs[row["arm"]], mean_probs[row["against"]]]
        positives = [np.stack([p[labels == k, k] for p in pair]) for k in ks]
        negatives = [np.stack([p[negative, k] for p in pair]) for k in ks]
        difference, se = delong_difference(positives, negatives, [1 / len(ks)] * len(ks))
        low, high, p = t_interval(difference, se)
        out.append(
            {
                "score": row["score"],
                "arm": row["arm"],
                "against": row["against"],
                "difference": difference,
                "low": low,
                "high": high,
                "p": p,
            }
        )
    return out


def write_predictions(path: str | PathLike, records: Sequence[Classified]) -> None:
    """Every classifier's test predictions as a CSV (one row per classifier and test ROI: ``task``, ``arm``,
    ``generator``, ``repeat``, ``fold``, ``ratio``, ``woman``, ``label``, ``prob_0`` ...), so that a verdict can be
    judged again (:func:`read_predictions`) without training anything."""
    width = max(r.probs.shape[1] for r in records)
    rows = [
        {
            "task": r.task,
            "arm": r.arm,
            "generator": r.generator,
            "repeat": r.repeat,
            "fold": r.fold,
            "ratio": repr(float(r.ratio)),
            "woman": woman,
            "label": int(label),
            **{f"prob_{c}": repr(float(p[c])) if c < len(p) else "" for c in range(width)},
        }
        for r in records
        for p, label, woman in zip(r.probs, r.labels, r.groups)
    ]
    write_csv(path, rows)


def read_predictions(path: str | PathLike) -> list[Classified]:
    """The classifiers of a :func:`write_predictions` file, in its order."""
    with open(path, newline="", encoding="utf-8") as f:
        table = list(csv.DictReader(f))
    out, current = [], {}
    keys = ("task", "arm", "generator", "repeat", "fold")
    for row in table:
        key = tuple(row[k] for k in keys)
        current.setdefault(key, []).append(row)
    for (task, arm, generator, repeat, fold), rows in current.items():
        width = sum(1 for c in rows[0] if c.startswith("prob_") and rows[0][c] != "")
        probs = np.array([[float(r[f"prob_{c}"]) for c in range(width)] for r in rows])
        labels = np.array([int(r["label"]) for r in rows])
        groups = np.array([r["woman"] for r in rows])
        out.append(
            Classified(
                task, arm, int(generator), int(repeat), int(fold), probs, labels, groups, float(rows[0]["ratio"])
            )
        )
    return out
