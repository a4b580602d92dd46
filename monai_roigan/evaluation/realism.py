"""The realism judge: can a classifier tell synthetic ROIs from real ROIs of women it never saw?

:func:`realism_scores` measures one set of candidate ROIs (a generator's, or any :data:`Sampler`'s) against the
real lesion ROIs of an :class:`~monai_roigan.evaluation.EvaluationROIs`:

- **C2ST** (classifier two-sample test, Lopez-Paz and Oquab 2017). A critic
  (:func:`~monai_roigan.engines.fit_realism_critic`, an :class:`~monai_roigan.networks.nets.ROIClassifier`) learns
  "real" against "synthetic" from the training women's real ROIs and as many synthetic ROIs of each
  class (both with their 8 rotations and flips), for ``steps`` batches. Its AUC is then taken on the held-out
  women's real ROIs against fresh synthetic ROIs (other latents), as many per class: pooled over the classes, and
  per class (the ROIs of that class on both sides). 0.5: the classifier cannot tell them apart; 1: it always can.
  Each of ``repeats`` repeats draws new synthetic ROIs and a new classifier; the interval is a t interval over the
  repeats (the variance of the classifier and of the draw, not of the held-out women, who are the same in every
  repeat).
- **The real-vs-real floor** (:func:`real_vs_real`): the same test with real ROIs on both sides. The training women
  are split in two halves by woman (one half plays "real", the other "synthetic"), and so are the held-out women, a
  new split per repeat; each half keeps as many ROIs of each class as the other (as the synthetic test has). Its AUC
  is what chance and the small sets give; a generator at its floor is indistinguishable from new women's ROIs to this
  classifier. (The halves are half as large as the sets of the synthetic test, so the floor's classifier learns from
  less.)
- **Fingerprints** (:mod:`monai_roigan.metrics.fingerprints`): the power ratio at the up-sampling grid's
  frequencies, and the border (frame) and radial (rim) intensity profiles, of the synthetic ROIs of every repeat
  against all real ROIs; the floor is the held-out real ROIs against the training ones.

Everything is seeded by ``seed``: the same seed gives the same numbers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

import numpy as np
import torch
from monai.metrics import compute_roc_auc

from monai_roigan.data.splits import holdout_groups
from monai_roigan.engines.realism_critic import fit_realism_critic, real_probability, realism_score
from monai_roigan.evaluation.data import EvaluationROIs, ROISet, as_evaluation_rois
from monai_roigan.evaluation.realism_report import write_realism
from monai_roigan.evaluation.statistics import auc_standard_error, minimum_detectable_difference, t_interval
from monai_roigan.handlers.checkpoint import training_checkpoints
from monai_roigan.metrics.fingerprints import border_profile, radial_profile, spectral_ratios
from monai_roigan.networks.pool import accepted_candidates
from monai_roigan.networks.sampling import synthesize
from monai_roigan.networks.source import GeneratorSource
from monai_roigan.transforms.copy_paste import CopyPasteLesion
from monai_roigan.transforms.insertion import InsertSyntheticLesion
from monai_roigan.transforms.transplant import TransplantLesion

__all__ = [
    "POOLED",
    "RealismScores",
    "Sampler",
    "c2st_aucs",
    "INSERTION_METHODS",
    "generator_sampler",
    "generators_to_judge",
    "insertion_sampler",
    "judge_realism",
    "network_sampler",
    "real_vs_real",
    "realism_scores",
    "summarize_aucs",
    "synthetic_like",
]

logger = logging.getLogger("monai_roigan.evaluation")

#: the class name of a C2ST AUC over all classes together
POOLED = "all classes"

#: ``sample(class_index, count, seed)`` -> (count, 1, S, S) float32 in [-1, 1]: the same images for the same seed
Sampler = Callable[[int, int, int], np.ndarray]


@dataclass
class RealismScores:
    """What :func:`realism_scores` (or :func:`real_vs_real`, ``name="real vs real (floor)"``) measured.

    ``aucs``: ``{class name or POOLED: [C2ST AUC of each repeat]}`` (NaN where a class has no held-out ROI);
    ``critic``: the C2ST critic's :func:`~monai_roigan.engines.realism_score` on the held-out test of each repeat
    (about 1 at chance, towards 0 as it tells them apart with confidence; meant to rank candidates whose AUC is 1,
    as far as the spread between repeats allows);
    ``spectral``: ``{(fy, fx): candidate / real power}`` at the up-sampling grid (cycles per ROI);
    ``border``, ``radial``: ``{"real": (S/2,), "candidate": (S/2,)}`` mean intensities in [-1, 1] at each pixel
    distance from the edge inward and from the centre outward; ``sizes``: ROIs per side of the C2ST.
    """

    name: str
    aucs: dict[str, list[float]]
    critic: list[float]
    spectral: dict[tuple[int, int], float]
    border: dict[str, np.ndarray]
    radial: dict[str, np.ndarray]
    sizes: dict[str, int] = field(default_factory=dict)

    def summary(self, level: float = 0.05) -> dict[str, dict[str, float]]:
        """``{class name or POOLED: {"mean", "low", "high", "repeats"}}`` of the C2ST AUCs (:func:`summarize_aucs`)."""
        return {name: summarize_aucs(values, level) for name, values in self.aucs.items()}

    def critic_summary(self, level: float = 0.05) -> dict[str, float]:
        """Mean and t interval over the repeats of the critic score (the low end clipped at 0; the high end not: the
        score can exceed 1)."""
        summary = summarize_aucs(self.critic, level, clip=False)
        return {**summary, "low": max(summary["low"], 0.0)} if np.isfinite(summary["low"]) else summary

    def worst_spectral(self) -> tuple[tuple[int, int], float]:
        """The grid frequency with the largest power ratio, and the ratio."""
        frequency = max(self.spectral, key=self.spectral.get)
        return frequency, self.spectral[frequency]

    def frame(self, rings: int = 4) -> float:
        """Largest |candidate - real| mean intensity over the ``rings`` outer rings of pixels."""
        return float(np.max(np.abs(self.border["candidate"][:rings] - self.border["real"][:rings])))

    def rim(self) -> float:
        """Largest |candidate - real| mean intensity over the rings around the centre."""
        return float(np.max(np.abs(self.radial["candidate"] - self.radial["real"])))

    def resolution(self, floor: RealismScores, level: float = 0.05, power: float = 0.8) -> dict[str, float]:
        """What this C2ST's test can tell from ``floor`` (the :func:`real_vs_real` scores), at the floor's pooled AUC:
        ``{"floor", "standard_error", "smallest_difference"}``.

        - ``floor``: the floor's mean pooled C2ST AUC.
        - ``standard_error``: the sampling standard error of the difference between an AUC of this test and the
          floor's, both taken at the floor's value: this test's ``sizes["test"]`` held-out real ROIs against as many
          candidates, and the floor's ``sizes["test"]`` ROIs a side (:func:`auc_standard_error`, which counts ROIs
          as independent, and the two AUCs as independent though they share held-out ROIs). The candidate's part
          from the held-out real ROIs, the same in every repeat, is what its interval over repeats leaves out (the
          floor's repeats split the held-out women anew, so its interval holds part of its own).
        - ``smallest_difference``: about the smallest true distance above the floor that a two-sided test at
          ``level`` finds with probability ``power`` (:func:`minimum_detectable_difference`; the error is taken at
          the floor for the alternative too, so this is approximate).

        All three are NaN when either test size is unknown or the floor's AUC is NaN.
        """
        auc = floor.summary(level)[POOLED]["mean"] if POOLED in floor.aucs else float("nan")
        size, floor_size = int(self.sizes.get("test", 0)), int(floor.sizes.get("test", 0))
        if size < 1 or floor_size < 1 or not 0 <= auc <= 1:
            return {"floor": auc, "standard_error": float("nan"), "smallest_difference": float("nan")}
        error = float(np.hypot(auc_standard_error(auc, size, size), auc_standard_error(auc, floor_size, floor_size)))
        return {
            "floor": auc,
            "standard_error": error,
            "smallest_difference": minimum_detectable_difference(error, level, power),
        }


def summarize_aucs(values: Sequence[float], level: float = 0.05, clip: bool = True) -> dict[str, float]:
    """Mean and t interval (over the repeats, ``1 - level``, clipped to [0, 1] unless ``clip`` is False) of C2ST
    AUCs; NaN values are left out; one value has no interval (NaN bounds)."""
    finite = np.asarray([v for v in values if np.isfinite(v)], dtype=float)
    if len(finite) == 0:
        return {"mean": float("nan"), "low": float("nan"), "high": float("nan"), "repeats": 0}
    mean = float(finite.mean())
    error = float(finite.std(ddof=1) / np.sqrt(len(finite))) if len(finite) > 1 else float("nan")
    low, high, _ = t_interval(mean, error, level, len(finite) - 1)
    if clip:
        low, high = max(low, 0.0), min(high, 1.0)
    return {"mean": mean, "low": low, "high": high, "repeats": len(finite)}


def generator_sampler(
    generator, num_classes: int, latent_distribution: str = "uniform", truncation: float = 1.0, sample_filter=None
) -> tuple[Sampler, str]:
    """(:data:`Sampler`, one-line identity) of a generator (bundle folder, weights or checkpoint file, or module):
    ROI ``k`` of a class and seed is :func:`~monai_roigan.networks.sampling.synthesize`'s (with ``sample_filter``,
    :func:`network_sampler`'s; the identity says so)."""
    source = GeneratorSource(generator, num_classes=num_classes)
    described = source.describe() + (f" filtered by {type(sample_filter).__name__}" if sample_filter else "")
    return network_sampler(source.get(), latent_distribution, truncation, sample_filter), described


def network_sampler(
    network: torch.nn.Module, latent_distribution: str = "uniform", truncation: float = 1.0, sample_filter=None
) -> Sampler:
    """The :data:`Sampler` of a loaded generator network: :func:`~monai_roigan.networks.sampling.synthesize`; with
    a ``sample_filter`` (e.g. :class:`~monai_roigan.apps.RealismFilter`), the first ``count`` ROIs of the seed that
    it accepts (:func:`~monai_roigan.networks.pool.accepted_candidates`).

    Raises:
        ValueError: at sampling time, a filter that rejects 4,096 candidates of a class in a row before ``count``
            were accepted (naming the class).
    """

    def sample(class_index: int, count: int, seed: int) -> np.ndarray:
        def generate(indices) -> torch.Tensor:
            return synthesize(network, class_index, indices, seed, latent_distribution, truncation)

        if sample_filter is None:
            return generate(range(count)).numpy()
        found = accepted_candidates(generate, sample_filter, class_index, count, max(count, 64), 4096)
        if len(found.images) < count:
            raise ValueError(
                f"the sample filter accepted {found.accepted} of {found.generated} ROIs of class {class_index}; "
                f"{count} are needed"
            )
        return found.images.numpy()

    return sample


def _copy_paste(lesions: np.ndarray, class_index: int, **options) -> CopyPasteLesion:
    return CopyPasteLesion(lesions, **options)


def _transplant(lesions: np.ndarray, class_index: int, **options) -> TransplantLesion:
    return TransplantLesion(lesions, **options)


def _inserted(lesions: np.ndarray, class_index: int, generator, **options) -> InsertSyntheticLesion:
    return InsertSyntheticLesion(generator, lesion_class=class_index, **options)


#: how ``judge_realism``'s ``insertions`` name the way a lesion gets into tissue (``method``), each a builder
#: ``(class-k lesion ROIs, k, **options)`` -> transform: ``copy_paste`` and ``transplant`` move a real lesion,
#: ``inserted`` has a context generator (option ``generator``) paint one; ``synthetic_transplant`` adds residuals of
#: a residual generator (option ``generator``, ``bundle/configs/residual.json``), new ones for every draw;
#: ``"tissue"`` moves none: the normal ROIs as they are, the reference that says how much the tissue alone gives away
INSERTION_METHODS = {
    "copy_paste": _copy_paste,
    "transplant": _transplant,
    "inserted": _inserted,
    "synthetic_transplant": None,
    "tissue": None,
}


def insertion_sampler(lesions: ROISet, normals: ROISet, method: str = "transplant", **options) -> Sampler:
    """The :data:`Sampler` of an insertion: ROI ``j`` of class ``k`` is one of ``normals`` with a lesion of class ``k``
    put in by ``INSERTION_METHODS[method](class-k ROIs of lesions, k, **options)`` (the lesion, its jitter and the
    tissue drawn from the seed and the class, so classes draw apart); for ``"tissue"``, the normal ROI as it is.

    Raises:
        ValueError: no normal ROIs, an unknown method; at sampling time, a class without lesions.
    """
    if len(normals) == 0:
        raise ValueError(f"an insertion ({method}) needs normal-tissue ROIs: set evaluation_normal_per_image > 0")
    if method not in INSERTION_METHODS:
        raise ValueError(f"unknown insertion method {method!r}; choose from {sorted(INSERTION_METHODS)}")
    if method == "synthetic_transplant":
        return _synthetic_transplant_sampler(normals, **options)
    built: dict[int, Callable] = {}  # one per class: a transplant's residuals are in-painted once

    def sample(class_index: int, count: int, seed: int) -> np.ndarray:
        streams = np.random.SeedSequence([seed, class_index]).spawn(2)
        picks = np.random.default_rng(streams[1]).integers(len(normals), size=count)
        if method == "tissue":
            return normals.images[picks].astype(np.float32)
        if class_index not in built:
            own = lesions.of_class(class_index)
            if len(own) == 0:
                raise ValueError(f"no lesion ROI of class {class_index} to insert ({method})")
            built[class_index] = INSERTION_METHODS[method](own.images, class_index, **options)
        insert = built[class_index].set_random_state(int(streams[0].generate_state(1)[0]))
        return np.stack([insert(torch.as_tensor(normals.images[j])).as_tensor().numpy() for j in picks])

    return sample


def _synthetic_transplant_sampler(
    normals: ROISet,
    generator,
    generator_classes: Sequence[str],
    latent_distribution: str = "uniform",
    truncation: float = 1.0,
    **transplant_options,
) -> Sampler:
    """ROI ``j`` of class ``k``: residual ``j`` of the residual generator (:func:`synthesize`'s, for the seed) added
    into one of ``normals`` by :class:`~monai_roigan.transforms.TransplantLesion` (``residual_input``)."""
    network = GeneratorSource(generator, num_classes=len(generator_classes)).get()

    def sample(class_index: int, count: int, seed: int) -> np.ndarray:
        streams = np.random.SeedSequence([seed, class_index]).spawn(2)
        picks = np.random.default_rng(streams[1]).integers(len(normals), size=count)
        residuals = synthesize(network, class_index, range(count), seed, latent_distribution, truncation).numpy()
        insert = TransplantLesion(residuals, residual_input=True, **transplant_options)
        insert.set_random_state(int(streams[0].generate_state(1)[0]))
        moved = [insert(torch.as_tensor(normals.images[j]), lesion_index=i) for i, j in enumerate(picks)]
        return np.stack([roi.as_tensor().numpy() for roi in moved])

    return sample


def synthetic_like(sample: Sampler, like: ROISet, seed: int) -> ROISet:
    """As many synthetic ROIs of each class as ``like`` holds, labelled like them (group ``"synthetic"``)."""
    labels = np.sort(like.labels)
    images = [sample(int(k), int(np.sum(labels == k)), seed) for k in np.unique(labels)]
    return ROISet(np.concatenate(images).astype(np.float32), labels, np.array(["synthetic"] * len(labels)))


def c2st_aucs(
    real_train: ROISet, other_train: ROISet, real_test: ROISet, other_test: ROISet, class_names, steps: int, seed: int
) -> dict[str, float]:
    """C2ST AUCs of one critic: ``{POOLED: AUC, class name: AUC}`` for telling ``other_test`` (positive) from
    ``real_test`` after training on ``other_train`` against ``real_train`` (each with its dihedral copies). A
    class absent from either test side gets NaN."""
    return _c2st(real_train, other_train, real_test, other_test, class_names, steps, seed)[0]


def _c2st(real_train, other_train, real_test, other_test, class_names, steps, seed) -> tuple[dict[str, float], float]:
    """(:func:`c2st_aucs`, the critic's :func:`~monai_roigan.engines.realism_score` on the test ROIs)."""
    critic = fit_realism_critic(real_train.dihedral().images, other_train.dihedral().images, steps, seed)
    test = ROISet.concat([real_test, other_test])
    test_truth = np.r_[np.zeros(len(real_test)), np.ones(len(other_test))]
    scores = 1 - real_probability(critic, test.images).numpy()
    aucs = {POOLED: _auc(scores, test_truth)}
    for k, name in enumerate(class_names):
        of_class = test.labels == k
        aucs[name] = _auc(scores[of_class], test_truth[of_class])
    return aucs, realism_score(critic, real_test.images, other_test.images)


def _auc(scores: np.ndarray, truth: np.ndarray) -> float:
    if not 0 < truth.sum() < len(truth):
        return float("nan")
    return float(compute_roc_auc(torch.as_tensor(scores), torch.as_tensor(truth)))


def _fingerprints(candidate: ROISet, real: ROISet, factors: Sequence[int]) -> dict:
    return {
        "spectral": spectral_ratios(candidate.images, real.images, factors),
        "border": {"real": border_profile(real.images), "candidate": border_profile(candidate.images)},
        "radial": {"real": radial_profile(real.images), "candidate": radial_profile(candidate.images)},
    }


def _collect(runs: list[tuple[dict[str, float], float]]) -> tuple[dict[str, list[float]], list[float]]:
    """(``{name: AUC of each repeat}``, critic score of each repeat) of :func:`_c2st`'s runs."""
    return {name: [aucs[name] for aucs, _ in runs] for name in runs[0][0]}, [score for _, score in runs]


def realism_scores(
    sample: Sampler,
    rois: EvaluationROIs,
    class_names: Sequence[str],
    name: str = "synthetic",
    repeats: int = 3,
    steps: int = 300,
    seed: int = 0,
    factors: Sequence[int] = (2, 4),
    test_sample: Sampler | None = None,
) -> RealismScores:
    """C2ST and fingerprints of ``sample``'s ROIs against the real lesion ROIs of ``rois`` (module docstring).

    Args:
        sample: the candidate ROIs (:func:`generator_sampler`, or any :data:`Sampler`).
        test_sample: the candidates tested against the held-out women (default ``sample``): e.g. transplants made
            of the held-out women's own lesions and tissue, so that no test candidate reuses a training lesion.
        rois: ``rois.train`` (the training women's ROIs) teach the C2ST; ``rois.held_out`` (women the generator never
            saw) test it. Normal-tissue ROIs are unused.
        class_names: the classes in label order.
        name: how the report names the candidates.
        repeats: C2ST repeats (new synthetic ROIs and a new classifier each).
        steps: the C2ST classifier's training batches (32 ROIs each).
        seed: seed of the synthetic draws (``seed + 2r + 1`` to train and ``seed + 2r + 2`` to test, repeat r) and
            of the classifiers (``seed + r``).
        factors: the up-sampling factors whose grid the spectral ratio reads.

    Raises:
        ValueError: no training or no held-out ROIs, or ``repeats`` < 1.
    """
    _check(rois, repeats)
    runs, drawn = [], []
    for r in range(repeats):
        synthetic_train = synthetic_like(sample, rois.train, seed + 2 * r + 1)
        synthetic_test = synthetic_like(test_sample or sample, rois.held_out, seed + 2 * r + 2)
        runs.append(_c2st(rois.train, synthetic_train, rois.held_out, synthetic_test, class_names, steps, seed + r))
        drawn += [synthetic_train, synthetic_test]
    real = ROISet.concat([rois.train, rois.held_out])
    sizes = {"train": len(rois.train), "test": len(rois.held_out)}
    return RealismScores(name, *_collect(runs), **_fingerprints(ROISet.concat(drawn), real, factors), sizes=sizes)


def real_vs_real(
    rois: EvaluationROIs,
    class_names: Sequence[str],
    repeats: int = 3,
    steps: int = 300,
    seed: int = 0,
    factors: Sequence[int] = (2, 4),
) -> RealismScores:
    """The floor: the C2ST with real ROIs on both sides (halves of the training women, and of the held-out women,
    split by woman and stratified by class with seed ``seed + r``); fingerprints of the held-out ROIs against the
    training ROIs. Arguments as :func:`realism_scores`."""
    _check(rois, repeats)
    runs = []
    for r in range(repeats):
        train_a, train_b = _halves(rois.train, seed + r)
        test_a, test_b = _halves(rois.held_out, seed + r)
        runs.append(_c2st(train_a, train_b, test_a, test_b, class_names, steps, seed + r))
        sizes = {"train": len(train_a), "test": len(test_a)}  # the "real" halves of the last repeat
    return RealismScores(
        "real vs real (floor)", *_collect(runs), **_fingerprints(rois.held_out, rois.train, factors), sizes=sizes
    )


def _halves(rois: ROISet, seed: int) -> tuple[ROISet, ROISet]:
    """Two halves of ``rois`` by woman (group), stratified by class, then cut to the same count per class (the ROIs
    kept drawn with ``seed``): halves of other class mixes would let the classifier read the class, not the woman."""
    held = np.isin(rois.groups.astype(str), sorted(holdout_groups(rois.groups, rois.labels, 0.5, seed)))
    first, second = rois.subset(~held), rois.subset(held)
    rng = np.random.default_rng(seed)
    keep_first, keep_second = np.zeros(len(first), bool), np.zeros(len(second), bool)
    for k in np.unique(rois.labels):
        in_first, in_second = np.flatnonzero(first.labels == k), np.flatnonzero(second.labels == k)
        count = min(len(in_first), len(in_second))
        if count == 0:
            logger.warning("realism floor: class %d has ROIs in one half of the women only; left out of both", k)
        keep_first[rng.choice(in_first, count, replace=False)] = True
        keep_second[rng.choice(in_second, count, replace=False)] = True
    return first.subset(keep_first), second.subset(keep_second)


def _check(rois: EvaluationROIs, repeats: int) -> None:
    if repeats < 1:
        raise ValueError(f"realism needs at least one repeat, got repeats={repeats}")
    for part in ("train", "held_out"):
        if len(getattr(rois, part)) < 2:
            raise ValueError(
                f"realism needs real lesion ROIs of training and of held-out women; rois.{part} holds "
                f"{len(getattr(rois, part))} (set holdout_fraction > 0, or a test set)"
            )


def judge_realism(
    generators,
    rois: EvaluationROIs,
    output_dir: str | PathLike,
    class_names: Sequence[str],
    repeats: int = 3,
    steps: int = 300,
    seed: int = 0,
    latent_distribution: str = "uniform",
    truncation: float = 1.0,
    factors: Sequence[int] = (2, 4),
    insertions: Mapping[str, Mapping] | None = None,
    sample_filter=None,
) -> Path:
    """The realism report of one or more generators (``realism.json``'s run): the floor once, then
    :func:`realism_scores` of each; returns ``realism.md`` in ``output_dir``.

    Args:
        generators: a generator (bundle folder, exported ``model.pt``, training checkpoint, or module), or a list of
            them (e.g. every checkpoint of a training, to see which is most realistic).
        rois: the real ROIs (``@real_rois``); the held-out ones must come from women the generators never saw.
        class_names: the generators' classes, in label order.
        repeats, steps, seed, factors: as :func:`realism_scores`; latent_distribution, truncation: as the bundle's
            inference.
        insertions: ``{row name: {"method": one of INSERTION_METHODS (required), **options of its transform}}``:
            lesions put into real tissue, judged too (:func:`insertion_sampler`; e.g. ``{"transplant": {"method":
            "transplant"}}`` or ``{"inserted": {"method": "inserted", "generator": "context-bundle", "mask_shape":
            "random"}}``; an ``inserted`` row paints with ``class_names`` unless it sets ``generator_classes``).
            Lesions of the training women (or painted) in their normal tissue train the C2ST, the held-out women's
            in theirs test it (needs ``rois.normal_train`` and ``rois.normal_held_out``).
        sample_filter: judge only the generators' ROIs it accepts (e.g. the bundle's ``sample_filter``: a
            :class:`~monai_roigan.apps.RealismFilter` or :class:`~monai_roigan.apps.ConfidenceFilter`); the rows
            say "filtered by". None: every ROI.
    """
    rois = as_evaluation_rois(rois, "judge_realism")
    generators = list(generators) if isinstance(generators, (list, tuple)) else [generators]
    floor = real_vs_real(rois, class_names, repeats, steps, seed, factors)
    logger.info("realism: floor (real vs real) C2ST AUC %.3f", floor.summary()[POOLED]["mean"])
    candidates = []
    for generator in generators:
        sample, described = generator_sampler(
            generator, len(class_names), latent_distribution, truncation, sample_filter
        )
        scores = realism_scores(sample, rois, class_names, described, repeats, steps, seed, factors)
        logger.info("realism: %s C2ST AUC %.3f", described, scores.summary()[POOLED]["mean"])
        candidates.append(scores)
    for row, settings in (insertions or {}).items():
        sampling = {"latent_distribution": latent_distribution, "truncation": truncation}
        scores = _judge_insertion(row, settings, rois, class_names, sampling, repeats, steps, seed, factors)
        logger.info("realism: %s C2ST AUC %.3f", row, scores.summary()[POOLED]["mean"])
        candidates.append(scores)
    return write_realism(output_dir, floor, candidates, rois.source)


def _judge_insertion(
    row: str, settings: Mapping, rois: EvaluationROIs, class_names, sampling: Mapping, *args
) -> RealismScores:
    """:func:`realism_scores` of one ``insertions`` row (``args``: repeats, steps, seed, factors); a generator's row
    samples with the run's ``sampling`` (latent distribution, truncation) unless it sets its own; errors of its
    settings name the row."""
    options = dict(settings)
    try:
        method = options.pop("method")
        if method in ("inserted", "synthetic_transplant"):
            options.setdefault("generator_classes", list(class_names))
            for key, value in sampling.items():
                options.setdefault(key, value)
        train_sample = insertion_sampler(rois.train, _normals(rois.normal_train), method, **options)
        test_sample = insertion_sampler(rois.held_out, _normals(rois.normal_held_out), method, **options)
        return realism_scores(train_sample, rois, class_names, row, *args, test_sample)
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"realism_insertions[{row!r}] {dict(settings)}: {error!r}") from error


def generators_to_judge(checkpoints: str | PathLike | None, model_path: str | PathLike) -> list:
    """``realism.json``'s candidates: every ``checkpoint_<iteration>.pt`` of a training in the folder
    ``checkpoints``, oldest first (:func:`~monai_roigan.handlers.training_checkpoints`), or ``[model_path]`` when
    ``checkpoints`` is None.

    Raises:
        FileNotFoundError: a ``checkpoints`` folder that holds no training checkpoint, naming it.
    """
    if checkpoints is None:
        return [model_path]
    found = training_checkpoints(checkpoints)
    if not found:
        raise FileNotFoundError(f"realism_checkpoints {checkpoints}: no checkpoint_<iteration>.pt of a training there")
    return found


def _normals(normals: ROISet | None) -> ROISet:
    return normals if normals is not None else ROISet.from_items([])
