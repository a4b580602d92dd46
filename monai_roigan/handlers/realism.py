"""Generator realism during training: how well a critic tells the generator's ROIs from real ones.

:class:`~monai_roigan.handlers.GeneratorQuality` scores a generator with a classifier of the lesion classes,
fitted on the few real lesion ROIs of each class (15-19 for the rare ones on MIAS). :class:`GeneratorRealism`
asks another question, with far more data: can a critic (:mod:`monai_roigan.engines.realism_critic`) that
learns real ROIs (thousands of normal-tissue ROIs of the training women, plus their lesion ROIs) against the
generator's tell them apart?

1. When it is built, the real ROIs are split by woman (:func:`~monai_roigan.data.splits.holdout_groups`): the
   critic learns from one part and is scored on the other (``validation_fraction`` of the women). Two fixed
   noise draws give the synthetic ROIs to learn from and to score on, ``num_per_class`` per class each.
2. Every ``interval`` iterations and at the last one, ``repeats`` fresh critics are fitted for ``steps`` batches
   (:func:`~monai_roigan.engines.fit_realism_critic`; lesion and normal ROIs share the real side's draws by
   ``lesion_share``), and ``engine.state.metrics`` gets ``realism`` (:func:`~monai_roigan.engines.realism_score`
   on the held-back women and noise: about 1 when the critic cannot tell, towards 0 as it tells with confidence;
   capped at 1, higher is better) and ``realism_auc`` (the critic's AUC there over all real ROIs of those women,
   unweighted, so mostly normal tissue; 0.5 at chance), each the median over the critics. It logs them, writes
   them to TensorBoard and fires :attr:`~monai_roigan.engines.ScoreEvents.SCORED`: a
   :class:`~monai_roigan.handlers.GanCheckpointSaver` with ``key_metric_name="realism"`` keeps the most realistic
   checkpoints (``bundle/configs/select_by_realism.json``). A resumed run reads the earlier best scores back from
   the checkpoint names, which hold 4 decimals.

Every woman it sees is a training woman: the held-out women of the evaluation stay unseen. Every synthetic ROI
holds a lesion and only ``lesion_share`` of the real draws do, so a critic may also learn "a lesion is present" as
a sign of synthetic, and reward a generator whose lesions fade into tissue; the class fidelity of
:class:`~monai_roigan.handlers.GeneratorQuality` (still logged) shows that. When the critic separates the two
sides with certainty at every checkpoint, the score is near 0 for all of them and ranks nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import torch
from ignite.engine import Engine, Events
from monai.metrics import compute_roc_auc

from monai_roigan.data.splits import holdout_groups
from monai_roigan.engines.events import ensure_score_events, scoring_due
from monai_roigan.engines.realism_critic import fit_realism_critic, lesion_weights, real_probability, realism_score
from monai_roigan.handlers.scores import publish_scores
from monai_roigan.networks.sampling import run_generator, sample_latent

__all__ = ["GeneratorRealism"]


class GeneratorRealism:
    """Score how well a fresh critic tells the generator's ROIs from real ones into ``engine.state.metrics``.

    Args:
        network: the generator to score (the EMA generator that gets exported).
        datalist: real ROIs of the training women: dicts with ``image`` (1, S, S) in [-1, 1], ``label`` (0..K-1 a
            lesion class, K normal tissue: ``train.json``'s ``tissue_datalist``) and ``group`` (the woman).
        num_classes: K, the generator's classes.
        interval: iterations between scores (0: only at the last iteration).
        num_per_class: synthetic ROIs per class, for the critic to learn from and again to score on.
        latent_dim, latent_distribution: as in training.
        conditional: pass labels to the generator (False: the unconditional model of a one-class run).
        steps: the critic's training batches (32 ROIs each).
        repeats: critics fitted per score, an odd number (seeds ``seed``, ``seed + 1``, ...); the score is the median
            of theirs, each capped at 1 (chance), so neither one critic whose fit fails (and says 1/2 to everything)
            nor one that learned something that does not hold on other women (above 1) makes a checkpoint look
            realistic.
        validation_fraction: the share of the women whose ROIs the critic is scored on, not fitted on.
        lesion_share: the share of the real side's draws that are lesion ROIs (the rest: normal tissue).
        summary_writer: TensorBoard writer for ``realism/*`` scalars, or None.
        seed: seed of the split, the fixed noise and the critics.

    Raises:
        ValueError: fewer than two women, or a part of the split without any ROI.
    """

    def __init__(
        self,
        network: torch.nn.Module,
        datalist: Sequence[dict],
        num_classes: int,
        interval: int = 400,
        num_per_class: int = 128,
        latent_dim: int = 100,
        latent_distribution: str = "uniform",
        conditional: bool = True,
        steps: int = 200,
        repeats: int = 3,
        validation_fraction: float = 0.25,
        lesion_share: float = 0.5,
        summary_writer=None,
        seed: int = 4321,
    ):
        self.network, self.num_classes = network, int(num_classes)
        self.interval, self.steps, self.seed = int(interval), int(steps), seed
        if int(repeats) < 1 or int(repeats) % 2 == 0:
            raise ValueError(
                f"GeneratorRealism needs an odd number of critics (a median of one), got repeats={repeats}"
            )
        self.repeats = int(repeats)
        self.conditional, self.summary_writer = conditional, summary_writer
        self.logger = logging.getLogger("monai_roigan.realism")
        images = torch.stack([torch.as_tensor(item["image"]).float() for item in datalist])
        labels = np.array([int(item["label"]) for item in datalist])
        groups = np.array([str(item["group"]) for item in datalist])
        scored = np.isin(groups, sorted(holdout_groups(groups, labels, validation_fraction, seed)))
        if scored.all() or not scored.any():
            raise ValueError(
                f"GeneratorRealism needs real ROIs of at least two women, split {1 - validation_fraction:.2f} to fit "
                f"and {validation_fraction:.2f} to score; got {len(set(groups))} women in {len(datalist)} ROIs"
            )
        self.real_fit, self.real_scored = images[~scored], images[scored]
        self.weights_fit = lesion_weights(labels[~scored], self.num_classes, lesion_share)
        self.weights_scored = lesion_weights(labels[scored], self.num_classes, lesion_share)
        rng = torch.Generator().manual_seed(seed)
        count = num_per_class * self.num_classes
        self.z_fit, self.z_scored = (sample_latent(count, latent_dim, latent_distribution, rng) for _ in range(2))
        self.labels = torch.arange(self.num_classes).repeat_interleave(num_per_class)

    def attach(self, engine: Engine) -> None:
        ensure_score_events(engine)
        engine.add_event_handler(Events.ITERATION_COMPLETED(event_filter=scoring_due(self.interval)), self)

    def score(self) -> dict[str, float]:
        """``realism`` and ``realism_auc`` of the generator as it is now: medians over ``repeats`` critics."""
        labels = self.labels if self.conditional else None
        fake_fit = run_generator(self.network, self.z_fit, labels)
        fake_scored = run_generator(self.network, self.z_scored, labels)
        truth = torch.cat([torch.zeros(len(self.real_scored)), torch.ones(len(fake_scored))])
        runs = []
        for r in range(self.repeats):
            critic = fit_realism_critic(self.real_fit, fake_fit, self.steps, self.seed + r, self.weights_fit)
            said = torch.cat([real_probability(critic, self.real_scored), real_probability(critic, fake_scored)])
            score = min(realism_score(critic, self.real_scored, fake_scored, self.weights_scored), 1.0)
            runs.append((score, float(compute_roc_auc(1 - said, truth))))
        scores, aucs = zip(*runs)
        return {"realism": float(np.median(scores)), "realism_auc": float(np.median(aucs))}

    def __call__(self, engine: Engine) -> None:
        result = self.score()
        self.logger.info(
            f"iteration {engine.state.iteration}: realism {result['realism']:.4f} "
            f"(critic AUC {result['realism_auc']:.3f}; 1 and 0.5 at chance)"
        )
        publish_scores(engine, result, "realism", self.summary_writer)
