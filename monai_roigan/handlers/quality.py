"""Generator quality during training (class fidelity and diversity) and the "best" checkpoint it selects.

GAN losses say little about image quality, so "best" needs its own score. :class:`GeneratorQuality`:

1. when training starts, fits a :class:`~monai_roigan.networks.nets.ROIClassifier` on the *real* training ROIs
   (:func:`~monai_roigan.engines.train_roi_classifier`: a few seconds on CPU; it never touches the global random
   states, so the run stays reproducible);
2. every ``interval`` iterations and at the last iteration, draws ``num_per_class`` ROIs per class from fixed noise
   with the (EMA) generator and measures, per class, the fidelity (share the classifier assigns to the
   class) and the gap between the mean pairwise MS-SSIM of the generated and of the real ROIs;
3. stores ``fidelity`` (mean over classes), ``msssim_gap`` (mean absolute gap) and
   ``quality = min over classes of (fidelity_k - gap_k)`` (the worst class; higher is better, at most 1) in
   ``engine.state.metrics``, logs them, writes them to TensorBoard, and fires
   :attr:`~monai_roigan.engines.ScoreEvents.SCORED` (:func:`~monai_roigan.engines.fire_scored`). A
   :class:`~monai_roigan.handlers.GanCheckpointSaver` with ``key_metric_name="quality"`` listens and keeps the
   best checkpoints (``best_checkpoint_<iteration>_quality=<score>.pt``); the two handlers never refer to each
   other.

The classifier sees the training ROIs only, so the score measures fit to the training set; the independent
gate is ``benchmarks/quality_phantom.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import torch
from ignite.engine import Engine, Events

from monai_roigan.engines.classifier import roi_items, train_roi_classifier
from monai_roigan.engines.events import ensure_score_events, scoring_due
from monai_roigan.handlers.scores import publish_scores
from monai_roigan.metrics import class_fidelity, mean_pairwise_msssim
from monai_roigan.networks.sampling import run_generator, sample_latent

__all__ = ["GeneratorQuality"]


class GeneratorQuality:
    """Score the generator's class fidelity and diversity against the real ROIs into ``engine.state.metrics``.

    Args:
        network: the generator to score (the EMA generator that gets exported).
        datalist: the real training ROIs: dicts with ``image`` (1, S, S) in [-1, 1] and ``label`` 0..K-1.
        num_classes: K. Classes with fewer than two real ROIs are left out of the score (with a warning).
        interval: iterations between scores (0: only at the last iteration).
        num_per_class: generated ROIs per class and score.
        latent_dim, latent_distribution: as in training.
        conditional: pass labels to the generator (False: the unconditional model of a one-class run).
        classifier_epochs: epochs of the classifier fit.
        summary_writer: TensorBoard writer for ``quality/*`` scalars, or None.
        seed: seed of the fixed noise and of the classifier.
    """

    def __init__(
        self,
        network: torch.nn.Module,
        datalist: Sequence[dict],
        num_classes: int,
        interval: int = 400,
        num_per_class: int = 64,
        latent_dim: int = 100,
        latent_distribution: str = "uniform",
        conditional: bool = True,
        classifier_epochs: int = 10,
        summary_writer=None,
        seed: int = 4321,
    ):
        self.network = network
        self.num_classes = int(num_classes)
        self.interval = int(interval)
        self.conditional, self.summary_writer = conditional, summary_writer
        self.classifier_epochs, self.seed = classifier_epochs, seed
        self.real = torch.stack([torch.as_tensor(item["image"]).float() for item in datalist])
        self.labels = torch.tensor([int(item["label"]) for item in datalist])
        self.logger = logging.getLogger("monai_roigan.quality")
        counts = torch.bincount(self.labels, minlength=self.num_classes)
        self.classes = [k for k in range(self.num_classes) if counts[k] >= 2]
        if not self.classes:
            raise ValueError("GeneratorQuality needs at least two real ROIs of some class")
        if len(self.classes) < self.num_classes:
            self.logger.warning(f"scoring only classes {self.classes}: the others have fewer than two real ROIs")
        rng = torch.Generator().manual_seed(seed)
        self.z = sample_latent(num_per_class * self.num_classes, latent_dim, latent_distribution, rng)
        self.real_msssim = {k: mean_pairwise_msssim(self.real[self.labels == k]) for k in self.classes}
        self.classifier = None

    def attach(self, engine: Engine) -> None:
        ensure_score_events(engine)
        engine.add_event_handler(Events.STARTED, self.fit_classifier)
        engine.add_event_handler(Events.ITERATION_COMPLETED(event_filter=scoring_due(self.interval)), self)

    def fit_classifier(self, engine: Engine | None = None) -> None:
        if self.classifier is None:
            self.classifier = train_roi_classifier(
                roi_items(self.real, self.labels),
                self.num_classes,
                epochs=self.classifier_epochs,
                seed=self.seed,
                input_size=self.real.shape[-1],
            )

    def score(self) -> dict[str, float]:
        """Per-class and mean fidelity and MS-SSIM gap, and ``quality`` (the worst class's fidelity - gap)."""
        self.fit_classifier()
        labels = torch.arange(self.num_classes).repeat_interleave(len(self.z) // self.num_classes)
        fake = run_generator(self.network, self.z, labels if self.conditional else None)
        result: dict[str, float] = {}
        for k in self.classes:
            result[f"fidelity_{k}"] = class_fidelity(self.classifier, fake[labels == k], k)
            result[f"msssim_gap_{k}"] = abs(mean_pairwise_msssim(fake[labels == k]) - self.real_msssim[k])
        for key in ("fidelity", "msssim_gap"):
            result[key] = sum(result[f"{key}_{k}"] for k in self.classes) / len(self.classes)
        result["quality"] = min(result[f"fidelity_{k}"] - result[f"msssim_gap_{k}"] for k in self.classes)
        return result

    def __call__(self, engine: Engine) -> None:
        result = self.score()
        self.logger.info(
            f"iteration {engine.state.iteration}: quality {result['quality']:.3f} "
            f"(fidelity {result['fidelity']:.3f}, MS-SSIM gap {result['msssim_gap']:.3f})"
        )
        publish_scores(engine, result, "quality", self.summary_writer, ("quality", "fidelity", "msssim_gap"))
