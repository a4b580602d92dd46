"""The downstream experiment's report: ``downstream.md`` and its CSV files.

``downstream.md`` opens with each task's verdict on the headline (the primary classes' mean AUC), each row with its
Holm-corrected interval and the smallest difference its test set could see, said in words. Then each class and the
all-class mean, where the uncertainty comes from (test women, classifiers, generators), DeLong's cross-check on an
external test set, the setup, and every arm's scores. The numbers are in ``downstream_verdict.csv`` (every verdict
row), ``downstream_folds.csv`` (one row per classifier) and ``downstream_summary.csv`` (per arm).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from monai_roigan.evaluation.judge import HEADLINE
from monai_roigan.evaluation.statistics import interval
from monai_roigan.utils.report import markdown_table, write_csv

__all__ = ["write_downstream"]

logger = logging.getLogger("monai_roigan.downstream")


def _text(mean: float, low: float, high: float, lowest: float = 0.0) -> str:
    """ "mean [low, high]" with the bounds clipped to [lowest, 1] (every score is in [0, 1], a difference in [-1,
    1])."""
    return f"{mean:.3f} [{max(low, lowest):.3f}, {min(high, 1.0):.3f}]"


def _signed(mean: float, low: float, high: float) -> str:
    """ "+mean [low, high]" of a difference, the bounds clipped to [-1, 1]."""
    return f"{mean:+.3f} [{max(low, -1.0):+.3f}, {min(high, 1.0):+.3f}]"


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


def _words(row: dict) -> str:
    """The verdict of one row in words, with the smallest difference its test set could see."""
    if row["verdict"] == "not measurable":
        return "not measurable (no interval: too few classifiers or test women, or a classifier diverged)"
    if row["verdict"] == "same predictions":
        return "same predictions as the baseline on every test ROI: nothing to compare"
    if row["mdd"] >= 1:  # an AUC difference lies in [-1, 1]
        return f"{row['verdict']}; no difference of any size can be seen with this test set (needs {row['mdd']:.2f})"
    return f"{row['verdict']}; differences below {row['mdd']:.2f} cannot be seen with this test set"


def _verdict_table(rows: Sequence[dict], with_score: bool) -> str:
    shown = [
        {
            "score": r["score"],
            "arm": r["arm"],
            "against": r["against"],
            "difference": _signed(r["difference"], r["low"], r["high"]),
            "level": f"{1 - r['level']:.3f}",
            "verdict": _words(r),
        }
        for r in rows
    ]
    columns = ["arm", "against", "difference", "level", "verdict"]
    names = [
        "synthetic arm",
        "best arm without synthesis",
        "paired difference [Holm interval]",
        "confidence",
        "verdict",
    ]
    if with_score:
        columns, names = ["score", *columns], ["score", *names]
    return markdown_table(shown, columns, names)


def _sources_table(rows: Sequence[dict], generators: int) -> str:
    shown = []
    for r in rows:
        total = r["var_classifier"] + (r["var_gan"] if np.isfinite(r["var_gan"]) else 0.0)
        share = f"{r['var_gan'] / total:.0%}" if np.isfinite(r["var_gan"]) and total > 0 else "not measured"
        shown.append(
            {
                "arm": r["arm"],
                "se": f"{r['se']:.3f}",
                "se_test": f"{r['se_test']:.3f}",
                "se_training": f"{r['se_training']:.3f}",
                "gan": share if generators > 1 else "not measured (one generator)",
            }
        )
    return markdown_table(
        shown,
        ["arm", "se", "se_test", "se_training", "gan"],
        ["synthetic arm", "standard error", "from the test women", "from training", "GAN share of training variance"],
    )


def _delong_table(checks: Sequence[dict]) -> str:
    shown = [{**c, "difference": _signed(c["difference"], c["low"], c["high"]), "p": f"{c['p']:.3g}"} for c in checks]
    return markdown_table(
        shown,
        ["score", "arm", "against", "difference", "p"],
        ["score", "synthetic arm", "against", "AUC difference of the mean predictions [95% interval]", "p"],
    )


def _verdict_section(task: str, rows: Sequence[dict], checks: Sequence[dict], setup: dict) -> list[str]:
    """The markdown of one task's verdict."""
    headline = [r for r in rows if r["score"] == HEADLINE[task]]
    rest = [r for r in rows if r["score"] != HEADLINE[task]]
    against = "normal tissue" if task == "abnormal_vs_normal" else "the other lesion classes"
    lines = [
        f"## Verdict, {task}: {', '.join(setup['primary_classes'])} against {against}",
        "",
        f"Headline: `{HEADLINE[task]}`, the mean AUC of the primary classes against {against}.",
        "",
        _verdict_table(headline, with_score=False) if headline else "No synthetic arm, or no arm to compare with.",
        "",
    ]
    if not headline:
        return lines
    lines += [
        f"### {task}: each class, and the mean over all classes",
        "",
        _verdict_table(rest, with_score=True),
        "",
        f"### {task}: where the headline's uncertainty comes from",
        "",
        _sources_table(headline, setup["generators"]),
        "",
    ]
    if checks:
        lines += [
            f"### {task}: DeLong's paired test on the external set (a cross-check)",
            "",
            "Each arm's probabilities averaged over its classifiers; ROIs counted as independent (a woman's ROIs "
            "are not), so its intervals are expected to be narrower than the verdict's; p uncorrected.",
            "",
            _delong_table(checks),
            "",
        ]
    return lines


def _counterpart_line(setup: dict) -> list[str]:
    """The women the counterpart arms leave out, when they ran."""
    left = setup.get("counterpart_left_out")
    if left is None:
        return []
    return [
        f"- Counterpart arms: the tissue in-filler learned from {left['women']} women; their {left['rois']} "
        "normal-tissue training ROIs are left out of those arms' classifiers (the baselines keep them)"
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


def _setup_lines(rows: list[dict], class_names: Sequence[str], setup: dict) -> list[str]:
    test = (
        f"- Test set: {setup['held_out_source']}, whole, for every classifier; {setup['k']}-fold by woman over the "
        f"training ROIs, {setup['repeats']} repeat(s)"
        if setup["external"]
        else f"- Test folds: {setup['k']}-fold over {setup['held_out_source']}, by woman, {setup['repeats']} repeat(s)"
    )
    generators = (
        f"{setup['generators']} generators of one recipe (different seeds); each synthetic arm is trained with each"
        if setup["generators"] > 1
        else "one generator: the verdict is about this generator, and its seed's variance is not in the intervals"
    )
    lines = [
        f"- Generator: {setup['generator']} (truncation psi {setup['truncation']}); {generators}",
        f"{test}; {setup['test_women']} test women, {setup['normal_test_rois']} normal-tissue test ROIs; neither the "
        "generator nor any classifier saw a test woman",
        "- Training per fold: the generator's training ROIs plus the other folds' held-out ROIs; rare classes "
        f"{setup['rare_classes']} kept at {setup['rare_fraction']:.0%} of their women",
        f"- Classifier: ROIClassifier, Adam 1e-3, {setup['steps']} steps of batch {setup['batch_size']}, the same seed "
        "per fold in every arm (arms: monai_roigan.evaluation.arms)",
        "- Differences: against the best arm without synthesis (highest mean headline); standard error from a "
        f"bootstrap over test women ({setup['bootstrap_draws']} draws, stratified by each woman's rarest lesion "
        "class and rescaled, the same draw for both arms) plus the variance over folds and repeats (Nadeau-Bengio "
        "factor); t intervals at Holm's level over the synthetic arms of a task, per score; the smallest visible "
        "difference is at 80% power (monai_roigan.evaluation.judge)",
        f"- Baselines: `copy_paste` options {setup['copy_paste_options'] or 'the defaults of CopyPasteLesiond'}, "
        f"`oversample` power {setup['oversample_power']:g} (tune them on training women: the `tune` run)",
        *_acceptance(rows, class_names, setup),
        *_counterpart_line(setup),
    ]
    if setup["rare_fraction"] < 1:
        lines += [
            "",
            f"**Caveat:** rare classes were subsampled to {setup['rare_fraction']:.0%} of their training "
            "women. Unless the generator was trained without the same women, the synthetic arms carry "
            "information that the other arms were denied, and the comparison favours them.",
        ]
    return lines


def write_downstream(
    output_dir: Path,
    rows: list[dict],
    verdicts: dict[str, tuple[list[dict], list[dict]]],
    arms: Sequence[str],
    class_names: Sequence[str],
    metrics: dict[str, list[str]],
    setup: dict,
) -> Path:
    """Write ``downstream.md``, ``downstream_verdict.csv``, ``downstream_folds.csv`` and ``downstream_summary.csv``
    into ``output_dir``; returns the report's path.

    ``rows``: one dict of scores per classifier; ``verdicts``: per task, the rows of
    :func:`~monai_roigan.evaluation.judge.judge` and of :func:`~monai_roigan.evaluation.judge.delong_rows`;
    ``metrics``: per task, the columns of its table of arms; ``setup``: what the run did (see
    :func:`~monai_roigan.evaluation.run_downstream`).
    """
    output_dir.mkdir(parents=True, exist_ok=True)
    write_csv(output_dir / "downstream_folds.csv", rows)
    write_csv(
        output_dir / "downstream_verdict.csv",
        [{"task": task, "method": "judge", **r} for task, (judged, _) in verdicts.items() for r in judged]
        + [{"task": task, "method": "delong", **c} for task, (_, checks) in verdicts.items() for c in checks],
    )
    summary, lines = [], ["# Downstream experiment: does synthesis beat what a researcher would do without it?", ""]
    for task, (judged, checks) in verdicts.items():
        lines += _verdict_section(task, judged, checks, setup)
    lines += [*_setup_lines(rows, class_names, setup), ""]
    for task in verdicts:
        table, numbers = _summaries([r for r in rows if r["task"] == task], arms, metrics[task])
        summary += [{"task": task, **n} for n in numbers]
        lines += [
            f"## {task}: every arm, mean over classifiers, 95% t-interval (bounds clipped to [0, 1])",
            "",
            markdown_table(table, ["arm", *metrics[task]], ["arm", *(m.replace("_", " ") for m in metrics[task])]),
            "",
        ]
    write_csv(output_dir / "downstream_summary.csv", summary)
    lines += [
        "Verdicts: `downstream_verdict.csv`; per classifier: `downstream_folds.csv`; per arm: "
        "`downstream_summary.csv`.",
        "",
    ]
    report = output_dir / "downstream.md"
    report.write_text("\n".join(lines), encoding="utf-8")
    logger.info("downstream: wrote %s and its CSV files in %s", report.name, output_dir)
    return report
