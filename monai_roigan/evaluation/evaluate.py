"""The evaluation report of a trained generator: the paper's metrics, computed over sets, with a floor and a ceiling.

:func:`evaluate_generator` is what ``bundle/configs/evaluate.json`` runs. It compares four sets of ROIs, class
by class, always against the same reference pool:

- **reference pool** ``B``: half of the held-out mammograms' ROIs (split by mammogram);
- **synthetic**: ``num_per_class`` generated ROIs per class;
- **floor** (real vs real): the other half ``A`` of the held-out ROIs. A generator cannot be expected to beat
  new real ROIs of the same class, so this is the best a metric can say;
- **noise reference** (the "ceiling"): Gaussian noise with the pixel mean and standard deviation of ``A``'s
  ROIs of each class, as many images as ``A``: what an output with nothing of the real data in it scores
  (except MS-SSIM diversity, where noise is maximally diverse).

The judges are fitted on the generator's *training* ROIs, never on held-out ones: the domain NIQE model, the
ROI classifier (class fidelity) and the domain encoder (its features, for FID, KID, precision/recall and the
geometry score), unless a TorchScript encoder file is given (:class:`~monai_roigan.metrics.FileEncoder`).

The report also holds the realism judge (:mod:`~monai_roigan.evaluation.realism`): a real-vs-synthetic classifier
trained on the training women and tested on the held-out women (C2ST), beside its real-vs-real floor, and the
fingerprints (spectral ratio at the up-sampling grid, frame and rim profiles).

Outputs in ``output_dir``: ``report.md``; ``realism.md`` with ``realism_*.csv``; ``per_image.csv`` (every image,
both pairings); ``set_level.csv``; ``table10.csv``; ``memorization.csv``; ``boxplot_<class>.png`` and
``grid_<class>.png`` per class.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

import numpy as np
import torch
from monai.metrics import compute_roc_auc

from monai_roigan.data.splits import holdout_groups, split_by_groups
from monai_roigan.engines.classifier import roi_items, train_roi_classifier
from monai_roigan.evaluation.data import EvaluationROIs, ROISet, as_evaluation_rois
from monai_roigan.evaluation.realism import network_sampler, real_vs_real, realism_scores
from monai_roigan.evaluation.realism_report import realism_markdown, write_realism
from monai_roigan.evaluation.report import write_report
from monai_roigan.metrics.brisque import find_brisque_model, load_brisque_model
from monai_roigan.metrics.distribution import domain_features
from monai_roigan.metrics.encoders import FileEncoder
from monai_roigan.metrics.memorization import memorization_check
from monai_roigan.metrics.niqe import fit_niqe_model
from monai_roigan.metrics.quality_table import compare_sets, per_image_quality
from monai_roigan.metrics.reference import reference_metrics
from monai_roigan.networks.sampling import synthesize
from monai_roigan.networks.source import GeneratorSource
from monai_roigan.utils.progress import progress

__all__ = ["EvaluationSets", "Judges", "evaluate_generator", "matched_subset", "noise_like"]

logger = logging.getLogger("monai_roigan.evaluation")
_STEPS = 8  # the steps evaluate_generator logs


@dataclass
class EvaluationSets:
    """The ROI sets compared (see the module docstring); ``train`` is what the generator learned from."""

    synthetic: ROISet
    train: ROISet
    floor: ROISet
    reference: ROISet
    noise: ROISet


@dataclass
class Judges:
    """Everything fitted on the training ROIs that scores other ROIs."""

    classifier: torch.nn.Module
    encode: object
    encoder: str
    niqe_model: object
    brisque_model: object
    brisque: str


def noise_like(like: ROISet, seed: int) -> ROISet:
    """Gaussian noise images with the pixel mean and standard deviation of ``like``'s ROIs of the same class,
    clipped to [-1, 1]; one noise image per ROI of ``like``."""
    rng = np.random.default_rng(seed)
    images = np.empty_like(like.images)
    for label in np.unique(like.labels):
        of_class = like.labels == label
        pixels = like.images[of_class]
        images[of_class] = rng.normal(pixels.mean(), pixels.std(), pixels.shape).clip(-1, 1)
    return ROISet(images, like.labels.copy(), np.array(["noise"] * len(like)))


def matched_subset(candidate: ROISet, like: ROISet, rng: np.random.Generator) -> ROISet:
    """A random subset of ``candidate`` with as many ROIs of each class as ``like`` has (or all there are)."""
    chosen = []
    for label in np.unique(like.labels):
        pool = np.flatnonzero(candidate.labels == label)
        chosen.append(rng.choice(pool, min(len(pool), int(np.sum(like.labels == label))), replace=False))
    return candidate.subset(np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, int))


def _synthetic_set(
    generator, num_classes: int, num_per_class: int, seed: int, latent_distribution: str, truncation: float
) -> ROISet:
    images = [
        synthesize(generator, label, range(num_per_class), seed, latent_distribution, truncation)
        for label in progress(range(num_classes), "synthetic ROIs", logger=logger, unit="classes")
    ]
    labels = np.repeat(np.arange(num_classes), num_per_class)
    return ROISet(torch.cat(images).numpy(), labels, np.array(["synthetic"] * len(labels)))


def _judges(
    train: ROISet,
    encoder: str | PathLike | None,
    brisque_model: str | PathLike | None,
    classifier_epochs: int,
    seed: int,
) -> Judges:
    augmented = train.dihedral()
    classifier = train_roi_classifier(
        roi_items(torch.as_tensor(augmented.images), augmented.labels),
        int(augmented.labels.max()) + 1,
        epochs=classifier_epochs,
        seed=seed,
        input_size=augmented.images.shape[-1],
    )
    if encoder is None:
        encode, described = (
            functools.partial(domain_features, classifier),
            "domain encoder (ROI classifier trained on the training ROIs, 64 features)",
        )
    else:
        file_encoder = FileEncoder(encoder)
        encode, described = file_encoder, file_encoder.description()
    model = load_brisque_model(brisque_model) if brisque_model is not None else find_brisque_model()
    brisque = "unavailable (no BRISQUE model file given or installed)" if model is None else f"model {model.source}"
    return Judges(classifier, encode, described, fit_niqe_model(train.images), model, brisque)


def _per_image_rows(sets: EvaluationSets, judges: Judges, class_names: Sequence[str], seed: int) -> list[dict]:
    """Rows of every synthetic, floor and noise image against the reference pool (nearest pairing; for
    synthetic images also random pairing)."""
    ref = sets.reference
    rows = []
    for name in progress(("synthetic", "floor", "noise"), "per-image metrics", logger=logger, unit="sets"):
        candidate = getattr(sets, name)
        scored = per_image_quality(
            candidate.images,
            candidate.labels,
            ref.images,
            ref.labels,
            judges.niqe_model,
            judges.brisque_model,
            pairing="nearest",
            seed=seed,
        )
        rows += [{"set": name, "pairing": "nearest", **r} for r in scored]
    random_rows = reference_metrics(
        sets.synthetic.images, sets.synthetic.labels, ref.images, ref.labels, pairing="random", seed=seed
    )
    no_reference = {r["index"]: {k: r[k] for k in ("piqe", "niqe", "brisque")} for r in rows if r["set"] == "synthetic"}
    rows += [{"set": "synthetic", "pairing": "random", **r, **no_reference[r["index"]]} for r in random_rows]
    for row in rows:
        row["class_name"], row["mse_8bit"] = class_names[row["label"]], row["mse"] * 255.0**2
    return rows


def _set_rows(
    sets: EvaluationSets, judges: Judges, class_names: Sequence[str], gs_repeats: int, seed: int
) -> list[dict]:
    """Set-level rows per class and for all classes: synthetic (size-matched to the floor and all), floor, noise."""
    rows = []
    rng = np.random.default_rng(seed)
    for label, name in progress(
        [*enumerate(class_names), (None, "all classes")], "set-level metrics", logger=logger, unit="classes"
    ):
        pick = (lambda s: s) if label is None else (lambda s, k=label: s.of_class(k))
        floor = pick(sets.floor)
        reference = pick(sets.reference)
        synthetic = pick(sets.synthetic)
        matched = matched_subset(synthetic, floor, rng)  # the floor's size and class mix
        candidates = {
            "synthetic (size of floor)": matched,
            "synthetic (all)": synthetic,
            "real vs real (floor)": floor,
            "noise (ceiling)": pick(sets.noise),
        }
        for kind, candidate in candidates.items():
            scores = compare_sets(
                candidate.images,
                candidate.labels,
                reference.images,
                judges.encode,
                judges.classifier,
                gs_repeats=gs_repeats,
                seed=seed,
            )
            rows.append({"class_name": name, "set": kind, **scores})
    return rows


def _split_held_out(held_out: ROISet, seed: int) -> tuple[ROISet, ROISet]:
    """(floor half A, reference half B) of the held-out ROIs, split by mammogram and stratified by class."""
    items = [
        {"group": g, "label": int(y), "index": i} for i, (g, y) in enumerate(zip(held_out.groups, held_out.labels))
    ]
    reference, floor = split_by_groups(items, holdout_groups(held_out.groups, held_out.labels, 0.5, seed))
    return tuple(held_out.subset(np.array([i["index"] for i in part], dtype=int)) for part in (floor, reference))


def one_vs_rest_aucs(classifier: torch.nn.Module, rois: ROISet, num_classes: int) -> list[float]:
    """One-vs-rest ROC AUC of each class of ``classifier``'s probabilities on ``rois`` (NaN for a class without
    positives or negatives)."""
    with torch.no_grad():
        probs = torch.softmax(classifier(torch.as_tensor(rois.images)), 1)
    out = []
    for k in range(num_classes):
        truth = torch.as_tensor((rois.labels == k).astype(np.float32))
        out.append(float(compute_roc_auc(probs[:, k], truth)) if 0 < truth.sum() < len(truth) else float("nan"))
    return out


def synthetic_teaches(
    synthetic: ROISet, held_out: ROISet, real_judge: torch.nn.Module, num_classes: int, epochs: int, seed: int
) -> list[dict]:
    """Train on synthetic, test on real: per class, the one-vs-rest AUC on the held-out real ROIs of a classifier
    trained on the synthetic ROIs only, beside that of the classifier trained on the real training ROIs. A class
    the generator cannot teach scores near 0.5."""
    student = train_roi_classifier(
        roi_items(torch.as_tensor(synthetic.images), synthetic.labels),
        num_classes,
        epochs=epochs,
        seed=seed,
        input_size=synthetic.images.shape[-1],
    )
    taught, real = one_vs_rest_aucs(student, held_out, num_classes), one_vs_rest_aucs(real_judge, held_out, num_classes)
    return [
        {"label": k, "synthetic_trained_auc": a, "real_trained_auc": b} for k, (a, b) in enumerate(zip(taught, real))
    ]


def evaluate_generator(
    generator: str | PathLike | torch.nn.Module,
    rois: EvaluationROIs,
    output_dir: str | PathLike,
    class_names: Sequence[str],
    num_per_class: int = 100,
    table_images: int = 10,
    truncation: float = 1.0,
    latent_distribution: str = "uniform",
    seed: int = 0,
    encoder: str | PathLike | None = None,
    brisque_model: str | PathLike | None = None,
    classifier_epochs: int = 30,
    gs_repeats: int = 50,
    realism_repeats: int = 3,
    realism_steps: int = 300,
) -> Path:
    """Write the evaluation report of ``generator`` to ``output_dir`` (see the module docstring); returns ``report.md``.

    Args:
        generator: a bundle folder, weights file or generator module (:class:`GeneratorSource`).
        rois: the real ROIs (:func:`~monai_roigan.evaluation.evaluation_rois`, or ``EvaluationROIs(train, held_out)``):
            ``rois.train``, the ROIs the generator trained on (no dihedral copies), fit the judges;
            ``rois.held_out``, ROIs of mammograms the generator never saw, are split here by mammogram into floor
            and reference; ``rois.source`` names where they come from in the report. Normal-tissue ROIs are unused.
        class_names: the generator's classes, in label order.
        num_per_class: synthetic ROIs per class; ``table_images`` of them (random, seeded) fill the per-class tables.
        truncation, latent_distribution: how latents are drawn (as the bundle's inference).
        seed: seed of the synthetic ROIs, the split, the noise, the judges and every random choice.
        encoder: a TorchScript / ``torch.export`` encoder file (e.g. FID Inception-v3); default the domain encoder.
        brisque_model: a BRISQUE ``allmodel`` file (with ``allrange`` beside it); default an installed one, if any.
        classifier_epochs: epochs of the classifier that is the domain encoder and the class-fidelity judge.
        gs_repeats: landmark draws per geometry score.
        realism_repeats, realism_steps: repeats and training batches of the realism judge's classifiers
            (:func:`~monai_roigan.evaluation.realism.realism_scores`).
    """
    started = time.perf_counter()
    rois = as_evaluation_rois(rois, "evaluate_generator")
    train, held_out = rois.train, rois.held_out
    source = GeneratorSource(generator, num_classes=len(class_names))
    _step(1, f"{num_per_class} synthetic ROIs per class of {len(class_names)} classes")
    synthetic = _synthetic_set(source.get(), len(class_names), num_per_class, seed, latent_distribution, truncation)
    floor, reference = _split_held_out(held_out, seed)
    sets = EvaluationSets(synthetic, train, floor, reference, noise_like(floor, seed))
    _step(2, f"fitting the judges on {len(train)} training ROIs (classifier: {classifier_epochs} epochs; NIQE)")
    judges = _judges(train, encoder, brisque_model, classifier_epochs, seed)
    _step(
        3,
        f"per-image metrics of {len(synthetic)} synthetic, {len(floor)} floor and {len(floor)} noise ROIs "
        f"against {len(reference)} reference ROIs",
    )
    per_image = _per_image_rows(sets, judges, class_names, seed)
    _step(4, f"set-level metrics (FID, KID, precision/recall, GS with {gs_repeats} repeats, MS-SSIM, fidelity)")
    set_level = _set_rows(sets, judges, class_names, gs_repeats, seed)
    _step(5, "memorization check against the training ROIs")
    memorization = memorization_check(synthetic.images, train.dihedral().images, held_out.images)
    _step(6, f"train on synthetic, test on real ({classifier_epochs} epochs)")
    teaches = synthetic_teaches(synthetic, held_out, judges.classifier, len(class_names), classifier_epochs, seed)
    _step(7, f"realism: real-vs-synthetic classifier ({realism_repeats} repeats of {realism_steps} steps), floor")
    sample = network_sampler(source.get(), latent_distribution, truncation)
    floor = real_vs_real(rois, class_names, realism_repeats, realism_steps, seed)
    realism = realism_scores(sample, rois, class_names, "synthetic", realism_repeats, realism_steps, seed)
    write_realism(output_dir, floor, [realism], rois.source)
    context = {
        "realism": realism_markdown(floor, [realism], rois.source),
        "generator": source.describe(),
        "held_out_source": rois.source,
        "truncation": truncation,
        "seed": seed,
        "num_per_class": num_per_class,
        "table_images": table_images,
        "encoder": judges.encoder,
        "brisque": judges.brisque,
        "class_names": list(class_names),
        "teaches": teaches,
    }
    _step(8, f"writing the report into {output_dir}")
    report = write_report(Path(output_dir), sets, per_image, set_level, memorization, context)
    logger.info("evaluation: done in %.0f s; report %s", time.perf_counter() - started, report)
    return report


def _step(index: int, what: str) -> None:
    logger.info("evaluation step %d/%d: %s", index, _STEPS, what)
