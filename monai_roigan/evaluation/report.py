"""``report.md``, its CSV files and its figures, from the tables :func:`~monai_roigan.evaluation.evaluate_generator`
computes. Layout and wording only: every number comes from the caller."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from monai_roigan.metrics.quality_table import PER_IMAGE_COLUMNS, SET_COLUMNS
from monai_roigan.utils.plots import metric_boxplots
from monai_roigan.utils.progress import progress
from monai_roigan.utils.report import markdown_table, write_csv
from monai_roigan.utils.visualize import labelled_rows, save_png, tile_images, to_uint8

__all__ = ["PAPER_TABLE_10", "write_report"]

logger = logging.getLogger("monai_roigan.evaluation")

#: Table 10 of the paper (SSIM, DSSIM, PSNR dB, MSE in 8-bit units), as published
PAPER_TABLE_10 = (
    ("Conditional GAN (cGAN), paper Table 10", 0.8960, 0.05, 23.65, 313.2),
    ("Perceptual GAN, paper Table 10", 0.9071, 0.05, 24.20, 287.0),
    ("Style-content GAN (SC-GAN), paper Table 10", 0.9046, 0.05, 24.12, 282.8),
    ("MedGAN, paper Table 10", 0.9160, 0.04, 24.62, 264.8),
    ("ROI-mammoGAN, paper Table 10 (= image 4 of its Table 7)", 0.8000, 0.10, 27.72, 109.92),
)
_TABLE_COLUMNS = [c if c != "mse" else "mse_8bit" for c in PER_IMAGE_COLUMNS]
_TABLE_HEADERS = ["PSNR (dB)", "SSIM", "DSSIM", "MSE (8-bit)", "FSIM", "BRISQUE", "PIQE", "NIQE (domain)"]
_SET_HEADERS = ["FID", "KID", "precision", "recall", "GS", "MS-SSIM", "class fidelity"]
_BOX_METRICS = ("psnr", "ssim", "mse_8bit", "fsim", "piqe", "niqe", "brisque")


def _select(rows: Sequence[dict], **where) -> list[dict]:
    return [r for r in rows if all(r[k] == v for k, v in where.items())]


def _mean(rows: Sequence[dict], column: str) -> float:
    """Mean over ``rows`` of a column, NaN left out (BRISQUE without a model); an inf PSNR (a copy) stays inf."""
    values = np.array([r[column] for r in rows], dtype=float)
    return float("nan") if np.isnan(values).all() else float(np.nanmean(values))


def _mean_row(rows: Sequence[dict], title: str) -> dict:
    """A table row: the mean of every per-image column over ``rows``."""
    return {"image": title, **{c: _mean(rows, c) for c in _TABLE_COLUMNS}}


def _class_image_table(per_image: list[dict], label: int, table_images: int, seed: int) -> str:
    synthetic = _select(per_image, set="synthetic", pairing="nearest", label=label)
    chosen = sorted(
        np.random.default_rng(seed + label).choice(len(synthetic), min(table_images, len(synthetic)), replace=False)
    )
    picked = [{"image": str(k + 1), **synthetic[i]} for k, i in enumerate(chosen)]
    indices = {synthetic[i]["index"] for i in chosen}
    random_pairs = [
        r for r in _select(per_image, set="synthetic", pairing="random", label=label) if r["index"] in indices
    ]
    rows = picked + [
        _mean_row(picked, "**Average**"),
        _mean_row(random_pairs, "Average, random pairing (same images)"),
        _mean_row(synthetic, f"Average, all {len(synthetic)} synthetic"),
        _mean_row(_select(per_image, set="floor", label=label), "Real vs real (floor)"),
        _mean_row(_select(per_image, set="noise", label=label), "Noise (ceiling)"),
    ]
    return markdown_table(rows, ["image", *_TABLE_COLUMNS], ["Images", *_TABLE_HEADERS], digits=2)


def _set_table(set_level: list[dict], class_name: str) -> str:
    rows = [{**r, "n": f"{r['n_candidate']} vs {r['n_reference']}"} for r in _select(set_level, class_name=class_name)]
    return markdown_table(rows, ["set", "n", *SET_COLUMNS], ["set", "ROIs", *_SET_HEADERS])


def _figures(output_dir: Path, sets, per_image: list[dict], label: int, name: str, seed: int) -> tuple[str, str]:
    groups = {}
    for kind, title in (("floor", "real (held-out)"), ("synthetic", "synthetic")):
        rows = _select(per_image, set=kind, pairing="nearest", label=label)
        groups[title] = {m: [r[m] for r in rows] for m in _BOX_METRICS}
    metrics = [m for m in _BOX_METRICS if np.isfinite(groups["synthetic"][m]).any()]
    metric_boxplots(groups, metrics, output_dir / f"boxplot_{name}.png", f"{name}: per-image metrics (nearest pairing)")
    real = np.concatenate([sets.floor.of_class(label).images, sets.reference.of_class(label).images])[:8]
    fake = sets.synthetic.of_class(label).images
    fake = fake[np.random.default_rng(seed).choice(len(fake), min(8, len(fake)), replace=False)]
    grid = labelled_rows(
        [("real (held-out)", tile_images(to_uint8(real), 8)), ("synthetic", tile_images(to_uint8(fake), 8))]
    )
    save_png(grid, output_dir / f"grid_{name}.png")
    return f"boxplot_{name}.png", f"grid_{name}.png"


def _table10_rows(per_image: list[dict]) -> list[dict]:
    rows = [dict(zip(("model", "ssim", "dssim", "psnr", "mse_8bit"), entry)) for entry in PAPER_TABLE_10]
    for kind, pairing, title in (
        ("synthetic", "nearest", "this run: synthetic vs nearest held-out real ROI"),
        ("synthetic", "random", "this run: synthetic vs random held-out real ROI"),
        ("floor", "nearest", "this run: real vs nearest real ROI (floor)"),
        ("noise", "nearest", "this run: noise vs nearest real ROI (ceiling)"),
    ):
        chosen = _select(per_image, set=kind, pairing=pairing)
        means = {c: _mean(chosen, c) for c in ("ssim", "dssim", "psnr", "mse_8bit")}
        rows.append({"model": title, **means, "psnr_of_mean_mse": 10 * np.log10(255.0**2 / means["mse_8bit"])})
    return rows


def _header(context: dict, sets) -> str:
    counts = []
    for label, name in enumerate(context["class_names"]):
        counts.append(
            {
                "class": name,
                **{
                    kind: int(np.sum(getattr(sets, kind).labels == label))
                    for kind in ("train", "floor", "reference", "synthetic")
                },
            }
        )
    return "\n".join(
        [
            "# Evaluation report",
            "",
            f"- Generator: {context['generator']}",
            f"- Synthetic ROIs: {context['num_per_class']} per class, seed {context['seed']}, "
            f"truncation psi {context['truncation']}",
            f"- Held-out real ROIs: {context['held_out_source']}; "
            "split by mammogram into a *floor* half and a *reference* half",
            f"- Feature encoder (FID, KID, precision/recall, GS): {context['encoder']}",
            "- NIQE: domain NIQE, pristine model fitted on the generator's training ROIs "
            "(not comparable with published NIQE)",
            f"- BRISQUE: {context['brisque']}",
            "- Reference-based metrics compare each image with the *nearest* (least MSE) reference ROI of its class,",
            "  unless a row says *random pairing*. MSE is in 8-bit units (0..255 squared), as in the paper.",
            "- How to read the floor and ceiling rows: [docs/evaluation.md](../docs/evaluation.md).",
            "",
            markdown_table(
                counts,
                ["class", "train", "floor", "reference", "synthetic"],
                ["class", "training ROIs", "floor ROIs", "reference ROIs", "synthetic ROIs"],
            ),
            "",
        ]
    )


def _teaches_line(row: dict) -> str:
    return (
        f"Train on synthetic, test on real: a classifier trained on this class's and the others' synthetic ROIs "
        f"only separates this class's held-out real ROIs from the rest with AUC {row['synthetic_trained_auc']:.3f} "
        f"(0.5: the generator teaches nothing of it); trained on the real training ROIs instead: "
        f"{row['real_trained_auc']:.3f}."
    )


def write_report(
    output_dir: Path, sets, per_image: list[dict], set_level: list[dict], memorization: dict, context: dict
) -> Path:
    """Write ``report.md``, the CSV files and the figures into ``output_dir``; returns the report's path."""
    output_dir.mkdir(parents=True, exist_ok=True)
    sections = [_header(context, sets)]
    for label, name in progress(
        list(enumerate(context["class_names"])), "report sections and figures", logger=logger, unit="classes"
    ):
        box, grid = _figures(output_dir, sets, per_image, label, name, context["seed"])
        sections += [
            f"## {name}",
            "",
            f"{context['table_images']} random synthetic ROIs (as the paper's Tables 6-9). GS and FID describe "
            "sets, not images: they are in the set-level table below.",
            "",
            _class_image_table(per_image, label, context["table_images"], context["seed"]),
            "",
            "Set level (reference: the reference half of the held-out ROIs of this class; FID, KID and "
            "precision/recall are n/a below 10 ROIs per set, GS below 32):",
            "",
            _set_table(set_level, name),
            "",
            _teaches_line(context["teaches"][label]),
            "",
            f"![per-image metrics]({box})",
            "",
            f"![real and synthetic]({grid})",
            "",
        ]
    table10 = _table10_rows(per_image)
    sections += [
        "## All classes, set level",
        "",
        _set_table(set_level, "all classes"),
        "",
        "## Realism: can a classifier tell the synthetic ROIs from real ones?",
        "",
        context["realism"],
        "",
        "## Memorization",
        "",
        markdown_table(
            [memorization],
            ["closer_than_heldout", "expected_share", "median_synthetic_mse", "median_heldout_mse", "median_ratio"],
        ),
        "",
        f"Near-copies (MSE <= 1e-4 to a training ROI): {len(memorization['copies'])} {memorization['copies'][:20]}",
        "",
        "## Comparison in the shape of the paper's Table 10",
        "",
        "The paper's rows come from other datasets and papers, and its ROI-mammoGAN row is one image (image 4 of "
        "its Table 7, asymmetry), not an average. This run's rows average per-image values over all classes; "
        "the last column is the PSNR of the mean MSE.",
        "",
        markdown_table(
            table10,
            ["model", "ssim", "dssim", "psnr", "mse_8bit", "psnr_of_mean_mse"],
            ["model", "SSIM", "DSSIM", "PSNR (dB)", "MSE (8-bit)", "PSNR of mean MSE"],
        ),
        "",
    ]
    write_csv(
        output_dir / "per_image.csv",
        per_image,
        ["set", "pairing", "class_name", "label", "index", "reference", *PER_IMAGE_COLUMNS, "mse_8bit"],
    )
    write_csv(output_dir / "set_level.csv", set_level)
    write_csv(
        output_dir / "train_synthetic_test_real.csv",
        [{"class_name": context["class_names"][t["label"]], **t} for t in context["teaches"]],
    )
    write_csv(output_dir / "table10.csv", table10)
    write_csv(output_dir / "memorization.csv", [{**memorization, "copies": " ".join(map(str, memorization["copies"]))}])
    report = output_dir / "report.md"
    report.write_text("\n".join(sections), encoding="utf-8")
    figures = [f"{kind}_{name}.png" for name in context["class_names"] for kind in ("boxplot", "grid")]
    logger.info(
        "evaluation report written to %s: %s; tables per_image.csv, set_level.csv, "
        "train_synthetic_test_real.csv, table10.csv, memorization.csv; figures %s",
        output_dir,
        report.name,
        ", ".join(figures),
    )
    return report
