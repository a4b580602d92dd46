"""The statistics of a paired comparison of two classifiers on the same test women, and of one AUC.

The downstream judge (:mod:`monai_roigan.evaluation.judge`) compares two arms, trained on the same folds and
scored on the same test ROIs. The pieces it needs live here, each a plain function of arrays:

- :func:`bootstrap_weights`: a stratified, rescaled bootstrap over women. Each draw is a weight per woman, and
  every ROI of a woman gets her weight. Both arms, and every fold, see the same draw. Row 0 is the observed
  sample (every weight 1).
- :func:`weighted_auc`: the AUC (Mann-Whitney, ties counted one half) under such weights, for every draw at once.
- :func:`delong_difference`: DeLong's paired test of a weighted sum of AUC differences that share their
  negatives (the lesion classes against the same normal ROIs). It treats ROIs as independent, so it ignores that
  one woman gives several ROIs; it is a cross-check, not the verdict.
- :func:`holm_levels`: Holm's step-down correction as a per-comparison confidence level, so that an interval
  excludes 0 exactly when Holm's procedure rejects.
- :func:`minimum_detectable_difference`: the smallest true difference a two-sided test finds with the given power,
  from the standard error of the difference; :func:`t_interval` and :func:`satterthwaite_df` give the interval
  and its degrees of freedom when part of the variance rests on a few folds.
- :func:`interval`: a t-interval of a mean over folds (the tables of arms use it).
- :func:`auc_standard_error`: the sampling standard error of one AUC from its two sample sizes (Hanley and McNeil
  1982); the realism judge reads its resolution from it.

SciPy's ``stats.bootstrap`` resamples observations, not clusters with weights, and has no DeLong test; Holm's
procedure is five lines. All scores are in [0, 1]; differences are in [-1, 1].
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats

__all__ = [
    "auc_standard_error",
    "bootstrap_weights",
    "delong_difference",
    "holm_levels",
    "interval",
    "minimum_detectable_difference",
    "satterthwaite_df",
    "t_interval",
    "weighted_auc",
]


def bootstrap_weights(strata: Sequence, draws: int, seed: int) -> np.ndarray:
    """(draws + 1, W) float: the weight of each of W women in each draw, row 0 the observed sample (all ones).

    Each draw resamples ``n_h - 1`` women with replacement from each stratum of ``n_h`` women (``strata[w]``, any
    hashable) and weighs each by its count times ``n_h / (n_h - 1)``: Rao and Wu's rescaled bootstrap, whose
    variance has no ``(n_h - 1) / n_h`` bias however small the stratum, and which keeps each stratum's total
    weight. A stratum of one woman keeps weight 1 (no variance): merge such strata before.
    """
    strata = np.asarray([str(s) for s in strata])
    rng = np.random.default_rng(seed)
    weights = np.ones((draws + 1, len(strata)))
    for stratum in sorted(set(strata.tolist())):
        members = np.flatnonzero(strata == stratum)
        if len(members) < 2:
            continue
        picks = rng.integers(len(members), size=(draws, len(members) - 1))
        flat = (picks + len(members) * np.arange(draws)[:, None]).ravel()
        counts = np.bincount(flat, minlength=draws * len(members)).reshape(draws, len(members))
        weights[1:, members] = counts * len(members) / (len(members) - 1)
    return weights


def weighted_auc(
    positive: np.ndarray, negative: np.ndarray, positive_weights: np.ndarray, negative_weights: np.ndarray
) -> np.ndarray:
    """(B,) AUCs of ``positive`` (n1,) against ``negative`` (n0,) scores under B weightings.

    ``positive_weights`` (B, n1) and ``negative_weights`` (B, n0) weight each ROI (the bootstrap weight of its
    woman). A pair counts 1 when the positive scores higher and 0.5 on a tie. NaN where a weighting leaves no
    positive or no negative, and everywhere if a score is NaN (a diverged classifier).
    """
    if np.isnan(positive).any() or np.isnan(negative).any():
        return np.full(len(positive_weights), np.nan)
    order = np.argsort(negative, kind="stable")
    sorted_negative = negative[order]
    weights = np.asarray(negative_weights, dtype=float)[:, order]
    cumulative = np.concatenate([np.zeros((len(weights), 1)), np.cumsum(weights, 1)], 1)
    left = np.searchsorted(sorted_negative, positive, "left")
    right = np.searchsorted(sorted_negative, positive, "right")
    below = cumulative[:, left] + 0.5 * (cumulative[:, right] - cumulative[:, left])
    positive_weights = np.asarray(positive_weights, dtype=float)
    total = positive_weights.sum(1) * cumulative[:, -1]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (positive_weights * below).sum(1) / total, np.nan)


def _components(positive: np.ndarray, negative: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """DeLong's structural components (V10 per positive, V01 per negative) of one AUC."""
    psi = (positive[:, None] > negative[None, :]) + 0.5 * (positive[:, None] == negative[None, :])
    return psi.mean(1), psi.mean(0)


def delong_difference(
    positives: Sequence[np.ndarray], negatives: Sequence[np.ndarray], weights: Sequence[float]
) -> tuple[float, float]:
    """(difference, standard error) of ``sum_k weights[k] * (AUC_k(arm 0) - AUC_k(arm 1))`` by DeLong's method.

    ``positives[k]`` (2, m_k): both arms' scores on the positive ROIs of AUC k (the positives of different k are
    different ROIs); ``negatives[k]`` (2, n): both arms' scores for AUC k on the same n negative ROIs, shared by
    every k. With one AUC this is DeLong, DeLong and Clarke-Pearson (1988)'s paired test.
    """
    difference, variance = 0.0, 0.0
    negative_terms = np.zeros(len(negatives[0][0]))
    for pos, neg, weight in zip(positives, negatives, weights):
        (v10_a, v01_a), (v10_b, v01_b) = _components(pos[0], neg[0]), _components(pos[1], neg[1])
        difference += weight * (v10_a.mean() - v10_b.mean())
        variance += weight**2 * np.var(v10_a - v10_b, ddof=1) / len(v10_a) if len(v10_a) > 1 else np.nan
        negative_terms += weight * (v01_a - v01_b)
    variance += np.var(negative_terms, ddof=1) / len(negative_terms)
    return float(difference), float(np.sqrt(variance))


def holm_levels(p_values: Sequence[float], alpha: float = 0.05) -> np.ndarray:
    """The per-comparison significance level of each of m comparisons under Holm's step-down procedure.

    The i-th smallest p-value is tested at ``alpha / (m - i + 1)`` while every smaller one was rejected; from the
    first that is not, the rest keep that step's level. An interval at confidence ``1 - level`` then excludes 0
    exactly when Holm rejects, and the family-wise error stays at most ``alpha``. NaN p-values get the
    Bonferroni level ``alpha / m``.
    """
    p = np.asarray(p_values, dtype=float)
    levels = np.full(len(p), alpha / max(len(p), 1))
    finite = np.flatnonzero(np.isfinite(p))
    level = alpha / max(len(p), 1)
    stopped = False
    for step, index in enumerate(finite[np.argsort(p[finite], kind="stable")]):
        if not stopped:
            level = alpha / (len(p) - step)
            stopped = p[index] > level
        levels[index] = level
    return levels


def minimum_detectable_difference(
    standard_error: float, level: float = 0.05, power: float = 0.8, df: float = np.inf
) -> float:
    """The true difference a two-sided t-test at ``level`` with ``df`` degrees of freedom detects with probability
    ``power``: ``(t(1 - level / 2) + t(power)) * standard_error`` (normal quantiles for infinite ``df``)."""
    return float((stats.t.ppf(1 - level / 2, df) + stats.t.ppf(power, df)) * standard_error)


def t_interval(
    estimate: float, standard_error: float, level: float = 0.05, df: float = np.inf
) -> tuple[float, float, float]:
    """(low, high, two-sided p-value against 0) of a t interval at confidence ``1 - level`` (normal for infinite
    ``df``). A NaN estimate or standard error gives NaN bounds and p; a standard error of 0 (two arms that rank
    every ROI alike) the point itself, with p 1 at 0 and 0 elsewhere."""
    if not (np.isfinite(standard_error) and standard_error >= 0 and np.isfinite(estimate)):
        return float("nan"), float("nan"), float("nan")
    if standard_error == 0:
        return float(estimate), float(estimate), float(estimate == 0)
    half = stats.t.ppf(1 - level / 2, df) * standard_error
    p = 2 * stats.t.sf(abs(estimate) / standard_error, df)
    return float(estimate - half), float(estimate + half), float(p)


def satterthwaite_df(variances: Sequence[float], dfs: Sequence[float]) -> float:
    """Welch-Satterthwaite degrees of freedom of a sum of independent variance estimates, each with its own
    degrees of freedom (``inf`` for a term known almost exactly, such as a bootstrap variance of many draws)."""
    v = np.asarray(variances, dtype=float)
    d = np.asarray(dfs, dtype=float)
    keep = np.isfinite(v) & (v > 0)
    denominator = float(np.sum(v[keep] ** 2 / d[keep]))
    return float(v[keep].sum() ** 2 / denominator) if denominator > 0 else float("inf")


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


def auc_standard_error(auc: float, n_positive: int, n_negative: int) -> float:
    """The sampling standard error of an AUC in [0, 1] measured on ``n_positive`` and ``n_negative`` independent
    ROIs: Hanley and McNeil's (1982) closed form, ``sqrt((A(1 - A) + (n_pos - 1)(Q1 - A^2) + (n_neg - 1)(Q2 - A^2))
    / (n_pos n_neg))`` with ``Q1 = A / (2 - A)`` and ``Q2 = 2A^2 / (1 + A)``. It treats ROIs as independent (several
    ROIs of one woman count as several).

    Raises:
        ValueError: an AUC outside [0, 1] or a sample size below 1.
    """
    if not 0 <= auc <= 1:
        raise ValueError(f"an AUC must lie in [0, 1], got {auc}")
    if n_positive < 1 or n_negative < 1:
        raise ValueError(f"an AUC needs at least one ROI on each side, got {n_positive} and {n_negative}")
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    variance = auc * (1 - auc) + (n_positive - 1) * (q1 - auc**2) + (n_negative - 1) * (q2 - auc**2)
    return float(np.sqrt(max(variance, 0.0) / (n_positive * n_negative)))
