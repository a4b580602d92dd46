"""The downstream judge: its statistics against known answers, and simulated arms whose true AUCs are known."""

import numpy as np
import pytest
import torch
from monai.metrics import compute_roc_auc
from scipy import stats

from monai_roigan.evaluation.judge import Classified, delong_rows, judge, score_names
from monai_roigan.evaluation.statistics import (
    auc_standard_error,
    bootstrap_weights,
    delong_difference,
    holm_levels,
    minimum_detectable_difference,
    satterthwaite_df,
    t_interval,
    weighted_auc,
)


def test_weighted_auc_with_unit_weights_is_monai_s_auc_and_counts_repeat_rois():
    rng = np.random.default_rng(0)
    pos, neg = np.round(rng.normal(1, 1, 40), 1), np.round(rng.normal(0, 1, 70), 1)  # rounding makes ties
    ones = weighted_auc(pos, neg, np.ones((1, 40)), np.ones((1, 70)))[0]
    truth = np.r_[np.ones(40), np.zeros(70)].astype(np.float32)
    expected = float(compute_roc_auc(torch.as_tensor(np.r_[pos, neg]), torch.as_tensor(truth)))
    assert ones == pytest.approx(expected, abs=1e-6)  # MONAI computes in float32
    w_pos, w_neg = rng.integers(0, 3, (1, 40)), rng.integers(0, 3, (1, 70))
    repeated = weighted_auc(
        np.repeat(pos, w_pos[0]), np.repeat(neg, w_neg[0]), np.ones((1, w_pos.sum())), np.ones((1, w_neg.sum()))
    )
    assert weighted_auc(pos, neg, w_pos, w_neg)[0] == pytest.approx(repeated[0])
    assert np.isnan(weighted_auc(pos, neg, np.zeros((1, 40)), np.ones((1, 70)))[0])
    assert np.isnan(weighted_auc(np.r_[pos[:-1], np.nan], neg, np.ones((1, 40)), np.ones((1, 70)))[0])


def test_bootstrap_weights_keep_every_stratum_s_total_and_are_seeded():
    strata = ["a"] * 3 + ["b"] * 5 + ["normal"] * 12
    weights = bootstrap_weights(strata, 200, seed=3)
    assert weights.shape == (201, 20) and (weights[0] == 1).all()
    # n - 1 draws per stratum of n, each weighted n / (n - 1) (Rao and Wu): the stratum's total stays n
    for members, n in ((slice(0, 3), 3), (slice(3, 8), 5), (slice(8, 20), 12)):
        np.testing.assert_allclose(weights[1:, members].sum(1), n)
        assert set(np.unique(weights[1:, members] * (n - 1) / n).round(9)) <= set(range(n))
    assert (bootstrap_weights(["a", "b", "b"], 50, 0)[1:, 0] == 1).all()  # a lone woman: weight 1, no variance
    assert (bootstrap_weights(strata, 200, seed=3) == weights).all()
    assert not (bootstrap_weights(strata, 200, seed=4) == weights).all()


def test_the_rescaled_bootstrap_variance_of_a_mean_is_unbiased_on_three_women():
    """Three women with values 0, 1 and 2: the variance of their mean is s^2 / n = 1/3; the plain bootstrap gives
    (n - 1) / n of that, 2/9. With a second stratum in the same mean, the rescaled weights keep each stratum's
    share."""
    weights = bootstrap_weights(["a"] * 3, 20000, seed=0)[1:]
    means = weights @ np.array([0.0, 1.0, 2.0]) / weights.sum(1)
    assert np.var(means) == pytest.approx(1 / 3, rel=0.05)
    mixed = bootstrap_weights(["a"] * 2 + ["b"] * 6, 5000, seed=1)[1:]
    np.testing.assert_allclose(mixed[:, :2].sum(1) / mixed.sum(1), 2 / 8)


def _components(p, n):
    psi = (p[:, None] > n[None]) + 0.5 * (p[:, None] == n[None])
    return psi.mean(1), psi.mean(0)


def _delong_reference(a_pos, a_neg, b_pos, b_neg):
    """DeLong (1988) for one pair of AUCs, written from the paper's formulas."""

    def parts(p, n):
        psi = (p[:, None] > n[None]) + 0.5 * (p[:, None] == n[None])
        return psi.mean(), psi.mean(1), psi.mean(0)

    (ta, v10a, v01a), (tb, v10b, v01b) = parts(a_pos, a_neg), parts(b_pos, b_neg)
    s10 = np.cov(np.stack([v10a, v10b]))
    s01 = np.cov(np.stack([v01a, v01b]))
    c = np.array([1, -1])
    return ta - tb, np.sqrt(c @ s10 @ c / len(a_pos) + c @ s01 @ c / len(a_neg))


def test_delong_matches_the_paper_s_formula_and_a_mean_of_two_classes():
    rng = np.random.default_rng(1)
    pos = [rng.normal(1, 1, (2, 30)), rng.normal(0.5, 1, (2, 12))]
    neg = [rng.normal(0, 1, (2, 200)), rng.normal(0, 1, (2, 200))]
    diff, se = delong_difference(pos[:1], neg[:1], [1.0])
    ref_diff, ref_se = _delong_reference(pos[0][0], neg[0][0], pos[0][1], neg[0][1])
    assert diff == pytest.approx(ref_diff) and se == pytest.approx(ref_se)
    mean_diff, mean_se = delong_difference(pos, neg, [0.5, 0.5])
    second, _ = delong_difference(pos[1:], neg[1:], [1.0])
    assert mean_diff == pytest.approx((diff + second) / 2)
    # the full covariance of the four AUCs (2 arms x 2 classes; the negatives shared by all, the positives by arms)
    v10 = [np.stack([_components(pos[k][a], neg[k][a])[0] for a in (0, 1)]) for k in (0, 1)]
    v01 = np.stack([_components(pos[k][a], neg[k][a])[1] for k in (0, 1) for a in (0, 1)])
    c = np.array([0.5, -0.5, 0.5, -0.5])  # (class 0 arm 0, class 0 arm 1, class 1 arm 0, class 1 arm 1)
    variance = sum(c[2 * k : 2 * k + 2] @ np.cov(v10[k]) @ c[2 * k : 2 * k + 2] / v10[k].shape[1] for k in (0, 1))
    variance += c @ np.cov(v01) @ c / v01.shape[1]
    assert mean_se == pytest.approx(np.sqrt(variance))


def test_auc_standard_error_is_hanley_mcneil_and_matches_simulated_aucs():
    # the closed form at A = 0.5 with 10 ROIs a side: Q1 = Q2 = 1/3, variance (0.25 + 2 * 9 / 12) / 100
    assert auc_standard_error(0.5, 10, 10) == pytest.approx(np.sqrt(0.0175))
    # unequal sizes tell Q1 (with the positives) from Q2: A = 0.8, Q1 = 2/3, Q2 = 32/45, variance
    # (0.16 + 4 (2/3 - 0.64) + 49 (32/45 - 0.64)) / 250; swapped it would be 0.0837
    by_hand = np.sqrt((0.16 + 4 * (2 / 3 - 0.64) + 49 * (32 / 45 - 0.64)) / 250)
    assert auc_standard_error(0.8, 5, 50) == pytest.approx(by_hand)
    assert auc_standard_error(0.8, 5, 50) == pytest.approx(0.1225, abs=1e-4)
    assert auc_standard_error(1.0, 20, 20) == 0.0
    rng = np.random.default_rng(0)
    for auc, n in ((0.6, 20), (0.75, 40)):  # binormal samples of that AUC: the SD of 2,000 measured AUCs
        shift = np.sqrt(2) * stats.norm.ppf(auc)
        positive, negative = rng.normal(shift, 1, (2000, n, 1)), rng.normal(0, 1, (2000, 1, n))
        measured = (positive > negative).mean((1, 2))
        assert auc_standard_error(auc, n, n) == pytest.approx(measured.std(), rel=0.1)
    with pytest.raises(ValueError, match="in \\[0, 1\\], got 1.2"):
        auc_standard_error(1.2, 10, 10)
    with pytest.raises(ValueError, match="at least one ROI on each side, got 0 and 10"):
        auc_standard_error(0.7, 0, 10)


def test_holm_levels_agree_with_the_step_down_procedure():
    p = [0.01, 0.04, 0.03, 0.005]
    levels = holm_levels(p, 0.05)
    # sorted: 0.005 at 0.05/4 (reject), 0.01 at 0.05/3 (reject), 0.03 at 0.05/2 (no): 0.04 keeps 0.025
    assert levels == pytest.approx([0.05 / 3, 0.025, 0.025, 0.0125])
    assert [pv <= lv for pv, lv in zip(p, levels)] == [True, False, False, True]
    assert holm_levels([0.2], 0.05) == pytest.approx([0.05])
    assert minimum_detectable_difference(0.01) == pytest.approx(0.01 * (1.959964 + 0.841621), rel=1e-5)
    assert minimum_detectable_difference(0.01, df=4) == pytest.approx(0.01 * (2.776445 + 0.940965), rel=1e-5)
    assert np.isnan(t_interval(0.1, float("nan"))[2])  # no p from no standard error
    assert t_interval(0.0, 0.0) == (0.0, 0.0, 1.0) and t_interval(0.1, 0.0) == (0.1, 0.1, 0.0)
    assert satterthwaite_df([1.0, 0.0], [np.inf, 3]) == np.inf and satterthwaite_df([0.0, 1.0], [np.inf, 3]) == 3
    assert satterthwaite_df([1.0, 1.0], [np.inf, 3]) == pytest.approx(12.0)  # (1 + 1)^2 / (1 / 3)


def _simulated_arms(women, auc_a, auc_b, rng, folds=3, positive_share=0.3):
    """Classifiers of two arms on one external test set of ``women`` (one ROI each), binormal scores with a
    shared component (correlation 0.5) and a little classifier noise per fold; true AUCs ``auc_a``, ``auc_b``."""
    labels = (rng.random(women) >= positive_share).astype(int)  # 0: the primary lesion class, 1: normal
    labels[:2], labels[2:4] = 0, 1
    groups = np.array([f"w{i}" for i in range(women)])
    shared = rng.normal(size=women)
    records = []
    for arm, auc in (("base", auc_b), ("synthetic", auc_a)):
        shift = np.sqrt(2) * stats.norm.ppf(auc)
        own = np.sqrt(0.5) * shared + np.sqrt(0.5) * rng.normal(size=women) + shift * (labels == 0)
        for fold in range(folds):
            score = 1 / (1 + np.exp(-(own + 0.05 * rng.normal(size=women))))
            probs = np.stack([score, 1 - score], 1)
            records.append(Classified("abnormal_vs_normal", arm, 0, 0, fold, probs, labels, groups, 0.01))
    return records


def _verdicts(women, auc_a, auc_b, runs, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for run in range(runs):
        records = _simulated_arms(women, auc_a, auc_b, rng)
        rows = judge(records, ["base", "synthetic"], ["base"], ["lesion"], ["lesion"], draws=200, seed=run)
        out.append(rows[0])
    return out


def test_known_answer_500_women_see_a_true_difference_of_0_1():
    rows = _verdicts(500, 0.8, 0.7, runs=40)
    assert rows[0]["score"] == "primary_auc_vs_normal"
    assert np.mean([r["verdict"] == "better" for r in rows]) >= 0.9
    assert np.mean([r["mdd"] for r in rows]) < 0.1


def test_known_answer_20_women_see_no_difference_and_say_what_they_could_see():
    rows = _verdicts(20, 0.8, 0.7, runs=100, seed=2)
    assert np.mean([r["verdict"] == "no difference seen" for r in rows]) >= 0.8
    assert np.median([r["mdd"] for r in rows]) > 0.2  # far above the true 0.1


def test_known_answer_equal_aucs_cross_zero_in_about_95_percent():
    rows = _verdicts(200, 0.75, 0.75, runs=200, seed=1)
    covered = np.mean([r["low"] <= 0 <= r["high"] for r in rows])
    assert 0.9 <= covered <= 0.99


def test_judge_rows_name_every_score_and_delong_agrees_on_a_large_set():
    rng = np.random.default_rng(5)
    records = _simulated_arms(400, 0.8, 0.7, rng)
    rows = judge(records, ["base", "synthetic"], ["base"], ["lesion"], ["lesion"], draws=300)
    assert [r["score"] for r in rows] == score_names("abnormal_vs_normal", ["lesion"])
    checks = delong_rows(records, rows, ["lesion"], ["lesion"])
    assert [c["score"] for c in checks] == [r["score"] for r in rows[:2]]
    head, check = rows[0], checks[0]
    assert check["difference"] == pytest.approx(head["difference"], abs=0.02)
    assert check["low"] > 0 and head["low"] > 0
    assert head["se_test"] == pytest.approx((check["high"] - check["low"]) / (2 * 1.96), rel=0.35)


def _arm(labels, groups, auc, shared, rng, name, folds, generator=0, noise=0.05, test_of_fold=None):
    """Classifiers of one arm (binormal scores, true AUC ``auc``); ``test_of_fold[f]``: the ROIs fold f tests."""
    shift = np.sqrt(2) * stats.norm.ppf(auc)
    own = np.sqrt(0.5) * shared + np.sqrt(0.5) * rng.normal(size=len(labels)) + shift * (labels == 0)
    out = []
    for fold in range(folds):
        rows = np.arange(len(labels)) if test_of_fold is None else test_of_fold[fold]
        score = 1 / (1 + np.exp(-(own[rows] + noise * rng.normal(size=len(rows)))))
        probs = np.stack([score, 1 - score], 1)
        out.append(Classified("abnormal_vs_normal", name, generator, 0, fold, probs, labels[rows], groups[rows], 0.5))
    return out


def _women(n, rng):
    labels = (rng.random(n) >= 0.3).astype(int)
    labels[:3], labels[3:6] = 0, 1
    return labels, np.array([f"w{i}" for i in range(n)]), rng.normal(size=n)


def test_held_out_folds_with_their_own_test_women_cover_a_null_difference():
    """Folds that each test a third of the women, as with held-out folds: the interval holds 0 in at least 90%."""
    rng = np.random.default_rng(11)
    covered = []
    for run in range(60):
        labels, groups, shared = _women(150, rng)
        parts = np.array_split(rng.permutation(150), 3)
        records = [
            *_arm(labels, groups, 0.75, shared, rng, "base", 3, test_of_fold=parts),
            *_arm(labels, groups, 0.75, shared, rng, "synthetic", 3, test_of_fold=parts),
        ]
        row = judge(records, ["base", "synthetic"], ["base"], ["lesion"], ["lesion"], draws=200, seed=run)[0]
        covered.append(row["low"] <= 0 <= row["high"])
    assert np.mean(covered) >= 0.9


def test_generators_that_differ_show_their_variance_and_widen_the_interval():
    rng = np.random.default_rng(3)
    labels, groups, shared = _women(300, rng)
    base = _arm(labels, groups, 0.75, shared, rng, "base", 3)

    def verdict(aucs):
        synthetic = [r for g, auc in enumerate(aucs) for r in _arm(labels, groups, auc, shared, rng, "synthetic", 3, g)]
        return judge([*base, *synthetic], ["base", "synthetic"], ["base"], ["lesion"], ["lesion"], draws=200)[0]

    alike, apart = verdict([0.8, 0.8, 0.8]), verdict([0.7, 0.8, 0.9])
    assert alike["generators"] == apart["generators"] == 3 and alike["classifiers"] == 9
    assert apart["var_gan"] > 10 * apart["var_classifier"] and alike["var_gan"] < apart["var_gan"] / 10
    assert (
        apart["se_training"] > 3 * alike["se_training"] and apart["high"] - apart["low"] > alike["high"] - alike["low"]
    )
    assert apart["df"] < 10  # the training term rests on 3 generators: t quantiles, not normal ones


def test_holm_keeps_the_family_wise_error_over_three_null_arms():
    """Three synthetic arms equal to the baseline: Holm calls any of them better or worse in at most ~5% of runs,
    while an arm 0.15 better than the baseline is still found."""
    rng = np.random.default_rng(7)
    false_calls, found = [], []
    for run in range(80):
        labels, groups, shared = _women(400, rng)
        records = _arm(labels, groups, 0.72, shared, rng, "base", 3)
        for name in ("null_a", "null_b", "null_c"):
            records += _arm(labels, groups, 0.72, shared, rng, name, 3)
        records += _arm(labels, groups, 0.87, shared, rng, "real_gain", 3)
        arms = ["base", "null_a", "null_b", "null_c", "real_gain"]
        rows = [
            r
            for r in judge(records, arms, ["base"], ["lesion"], ["lesion"], draws=200, seed=run)
            if r["score"] == "primary_auc_vs_normal"
        ]
        false_calls.append(any(r["verdict"] != "no difference seen" for r in rows if r["arm"].startswith("null")))
        found.append(next(r for r in rows if r["arm"] == "real_gain")["verdict"] == "better")
        assert {round(r["level"], 6) for r in rows} <= {0.0125, round(0.05 / 3, 6), 0.025, 0.05}
    assert np.mean(false_calls) <= 0.1 and np.mean(found) >= 0.9


def test_a_diverged_classifier_is_not_measurable_and_takes_no_holm_step():
    rng = np.random.default_rng(2)
    labels, groups, shared = _women(200, rng)
    records = [*_arm(labels, groups, 0.7, shared, rng, "base", 3), *_arm(labels, groups, 0.9, shared, rng, "good", 3)]
    broken = _arm(labels, groups, 0.8, shared, rng, "broken", 3)
    broken[0] = Classified(
        *[getattr(broken[0], f) for f in ("task", "arm", "generator", "repeat", "fold")],
        np.full_like(broken[0].probs, np.nan),
        broken[0].labels,
        broken[0].groups,
        0.5,
    )
    rows = judge([*records, *broken], ["base", "good", "broken"], ["base"], ["lesion"], ["lesion"], draws=100)
    head = {r["arm"]: r for r in rows if r["score"] == "primary_auc_vs_normal"}
    assert head["broken"]["verdict"] == "not measurable" and np.isnan(head["broken"]["p"])
    assert head["good"]["verdict"] == "better"


def test_an_arm_identical_to_its_baseline_says_so():
    rng = np.random.default_rng(4)
    labels, groups, shared = _women(60, rng)
    base = _arm(labels, groups, 0.7, shared, rng, "base", 2)
    same = [
        Classified(
            r.task,
            "copy",
            *[getattr(r, f) for f in ("generator", "repeat", "fold", "probs", "labels", "groups", "ratio")],
        )
        for r in base
    ]
    row = judge([*base, *same], ["base", "copy"], ["base"], ["lesion"], ["lesion"], draws=50)[0]
    assert row["verdict"] == "same predictions" and row["difference"] == 0 and row["se"] == 0


def test_judge_refuses_records_of_two_tasks():
    rng = np.random.default_rng(0)
    labels, groups, shared = _women(30, rng)
    records = _arm(labels, groups, 0.7, shared, rng, "base", 2)
    other = records[0]
    mixed = [
        *records,
        Classified(
            "lesion_type",
            *[getattr(other, f) for f in ("arm", "generator", "repeat", "fold", "probs", "labels", "groups", "ratio")],
        ),
    ]
    with pytest.raises(ValueError, match="one task at a time"):
        judge(mixed, ["base"], ["base"], ["lesion"], ["lesion"])
