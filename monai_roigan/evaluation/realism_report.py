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


def _resolution_line(floor: RealismScores, candidates: Sequence[RealismScores], level: float, power=0.8) -> list:
    """The report's resolution paragraph (:meth:`RealismScores.resolution` of the first candidate), or nothing when
    there is no candidate or a test size is unknown."""
    resolution = candidates[0].resolution(floor, level, power) if candidates else {"standard_error": float("nan")}
    if not resolution["standard_error"] >= 0:
        return []
    return [
        f"**Resolution**: with {candidates[0].sizes['test']} held-out real ROIs against as many candidates, and "
        f"{floor.sizes['test']} a side in the floor's test, the difference between a C2ST AUC and the floor's "
        f"{format_value(resolution['floor'], 2)} has a sampling standard error of about "
        f"{format_value(resolution['standard_error'], 2)} (Hanley and McNeil 1982). Its part from the held-out "
        "real ROIs, the same in every repeat, is not in the intervals above. A candidate whose true C2ST lies less "
        f"than about {format_value(resolution['smallest_difference'], 2)} above the floor is told from it with less "
        f"than {100 * power:.0f}% power (two-sided test at {100 * level:.0f}%)."
    ]


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
            *_resolution_line(floor, candidates, level),
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
