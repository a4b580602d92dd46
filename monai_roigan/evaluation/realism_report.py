"""``realism.md`` and its CSV files, from :class:`~monai_roigan.evaluation.realism.RealismScores`. Layout and
wording only: every number comes from the caller."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from monai_roigan.utils.atomic import atomic_write
from monai_roigan.utils.report import format_value, markdown_table, write_csv

if TYPE_CHECKING:
    from monai_roigan.evaluation.realism import RealismScores

__all__ = ["realism_markdown", "write_realism"]

_RINGS = 8  # rings of the border profile shown in the report


def _cell(summary: dict[str, float]) -> str:
    if summary["repeats"] == 0:
        return "n/a"
    return f"{format_value(summary['mean'], 2)} [{format_value(summary['low'], 2)}, {format_value(summary['high'], 2)}]"


def _summary_rows(floor: RealismScores, candidates: Sequence[RealismScores]) -> list[dict]:
    rows = []
    for scores in [floor, *candidates]:
        summary = scores.summary()
        frequency, ratio = scores.worst_spectral()
        rows.append(
            {
                "candidates": scores.name,
                **{name: _cell(value) for name, value in summary.items()},
                "critic": _cell(scores.critic_summary()),
                "spectral": f"{format_value(ratio, 1)} at {frequency}",
                "frame": scores.frame(),
                "rim": scores.rim(),
            }
        )
    return rows


def realism_markdown(floor: RealismScores, candidates: Sequence[RealismScores], source: str, level=0.05) -> str:
    """The realism section: summary, spectral ratios per grid frequency and border profiles (markdown)."""
    pooled, *class_names = floor.aucs  # POOLED first, then the classes in label order
    columns = ["candidates", pooled, *class_names, "critic", "spectral", "frame", "rim"]
    headers = [
        "candidates",
        f"C2ST AUC, {pooled}",
        *class_names,
        "critic score",
        "largest spectral ratio at (fy, fx)",
        "frame",
        "rim",
    ]
    repeats = max(len(v) for v in floor.aucs.values())
    first = candidates[0] if candidates else floor
    spectral = [
        {"frequency": str(f), **{s.name: s.spectral[f] for s in [floor, *candidates]}} for f in sorted(floor.spectral)
    ]
    names = [s.name for s in [floor, *candidates]]
    floor_auc = floor.summary(level)[pooled]["mean"]
    resolution = first.resolution(floor_auc, level)
    borders = [{"ROIs": "real (all)", **dict(enumerate(first.border["real"][:_RINGS]))}]
    borders += [{"ROIs": s.name, **dict(enumerate(s.border["candidate"][:_RINGS]))} for s in [floor, *candidates]]
    return "\n\n".join(
        [
            f"Real lesion ROIs: {first.sizes.get('train')} of training women teach the classifier and "
            f"{first.sizes.get('test')} of held-out women test it ({source}). **C2ST**: the AUC of a classifier "
            "telling synthetic from real ROIs of the held-out women (0.5: it cannot; 1: it always can), with a "
            f"{100 * (1 - level):.0f}% interval over {repeats} repeats. The first row is the floor: real ROIs on "
            "both sides. **Critic score**: the same classifier's cross-entropy on the held-out test in units of "
            "ln 2 (about 1: it cannot tell; towards 0: it tells with confidence; meant to rank candidates whose "
            "AUC is 1, as far as the spread between repeats allows). "
            "**Spectral ratio**: synthetic over real power at the up-sampling grid (1: as real tissue; "
            "a checkerboard gives hundreds). **Frame**, **rim**: the largest difference of mean intensity (in "
            "[-1, 1] units) from the real ROIs over the 4 outer rings of pixels, and over the rings around the "
            "centre.",
            markdown_table(_summary_rows(floor, candidates), columns, headers),
            f"**Resolution**: {first.sizes.get('test')} held-out real ROIs against as many candidates give a C2ST "
            f"AUC near the floor's {format_value(floor_auc, 2)} a sampling standard error of "
            f"{format_value(resolution['standard_error'], 2)} (Hanley and McNeil 1982), which the interval over "
            "repeats leaves out (every repeat tests the same held-out women). A candidate less than "
            f"{format_value(resolution['smallest_difference'], 2)} above the floor is told from it with less than "
            f"80% power ({100 * (1 - level):.0f}% two-sided), and less still once the floor's own uncertainty is "
            "counted.",
            "### Spectral ratio at each frequency of the up-sampling grid (cycles per ROI, folded)",
            markdown_table(spectral, ["frequency", *names], ["(fy, fx)", *names], digits=1),
            f"### Border profile: mean intensity at 0..{_RINGS - 1} pixels from the edge",
            markdown_table(borders, ["ROIs", *range(_RINGS)], ["ROIs", *map(str, range(_RINGS))]),
        ]
    )


def _csv_rows(scores: Sequence[RealismScores]) -> dict[str, list[dict]]:
    c2st, spectrum, profiles = [], [], []
    for s in scores:
        pooled = next(iter(s.aucs))  # POOLED first, then the classes
        c2st += [
            {"candidates": s.name, "class_name": name, "repeat": r, "auc": auc}
            | ({"critic_score": s.critic[r]} if name == pooled else {})
            for name, values in s.aucs.items()
            for r, auc in enumerate(values)
        ]
        spectrum += [{"candidates": s.name, "fy": f[0], "fx": f[1], "ratio": ratio} for f, ratio in s.spectral.items()]
        for kind, profile in (("border", s.border), ("radial", s.radial)):
            profiles += [
                {"candidates": s.name, "profile": kind, "distance": d, "real": real, "candidate": candidate}
                for d, (real, candidate) in enumerate(zip(profile["real"], profile["candidate"]))
            ]
    return {"realism_c2st.csv": c2st, "realism_spectrum.csv": spectrum, "realism_profiles.csv": profiles}


def write_realism(
    output_dir: str | Path,
    floor: RealismScores,
    candidates: Sequence[RealismScores],
    source: str,
) -> Path:
    """Write ``realism.md``, ``realism_c2st.csv`` (every repeat's AUC, and on the pooled rows its critic score),
    ``realism_spectrum.csv`` and
    ``realism_profiles.csv`` (border and radial profiles) into ``output_dir``; returns ``realism.md``."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    for name, rows in _csv_rows([floor, *candidates]).items():
        write_csv(output_dir / name, rows)
    text = "# Realism of synthetic ROIs\n\n" + realism_markdown(floor, candidates, source) + "\n"
    path = output_dir / "realism.md"
    atomic_write(path, lambda tmp: Path(tmp).write_text(text))
    return path
