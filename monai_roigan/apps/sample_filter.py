"""Keep only the synthetic ROIs that teach: a real-trained classifier must recognise their class, or a critic must
find them realistic.

:class:`ConfidenceFilter` is a sample filter for :class:`~monai_roigan.transforms.SyntheticROIAugment(d)
<monai_roigan.transforms.SyntheticROIAugment>` and :class:`~monai_roigan.apps.SyntheticBalancedDataset`: a synthetic
ROI of generator class ``c`` is kept when an :class:`~monai_roigan.networks.nets.ROIClassifier` fitted on the real
training ROIs gives ``c`` a softmax probability of at least ``min_confidence``. ROIs the real data's classifier
cannot place in their class are the ones least likely to teach a downstream classifier that class.

The classifier is fitted once (:func:`~monai_roigan.engines.train_roi_classifier`, seeded, every class drawn
equally often) and cached in a file beside the bundle (``<bundle>/models/sample_filter.pt``): a tensor-only
state dict with a fingerprint of the ROIs and settings it was fitted on. A cache whose fingerprint differs is
refitted and rewritten (atomically), so new training data never meets a stale filter.

:class:`RealismFilter` keeps the synthetic ROIs that a real-vs-synthetic critic
(:func:`~monai_roigan.engines.fit_realism_critic`, fitted on thousands of real normal-tissue and lesion ROIs of the
training women against the generator's own ROIs) finds most realistic: of each class, the ``keep_fraction`` with
the highest log-odds of being real, by a threshold per class set on a calibration draw (a quantile cut in the
spirit of discriminator rejection sampling, Azadi et al. 2019, which accepts by probability instead; the critic
has seen far more real ROIs than the GAN's discriminator). It is
cached the same way, its fingerprint including the generator's weights (``<bundle>/models/realism_filter.pt``).
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Sequence
from os import PathLike
from pathlib import Path

import numpy as np
import torch
from torch import nn

from monai_roigan.engines.classifier import roi_items, train_roi_classifier
from monai_roigan.engines.realism_critic import fit_realism_critic, lesion_weights, real_log_odds, real_probability
from monai_roigan.networks.nets.roi_classifier import ROIClassifier
from monai_roigan.networks.sampling import synthesize
from monai_roigan.networks.source import GeneratorSource
from monai_roigan.utils.atomic import atomic_write
from monai_roigan.utils.safe_load import load_state_file

__all__ = ["ConfidenceFilter", "RealismFilter", "check_keep_fraction", "check_min_confidence"]

logger = logging.getLogger("monai_roigan.sample_filter")


def check_min_confidence(value: float) -> float:
    """``value`` as a float strictly inside (0, 1); ``ValueError`` naming it otherwise."""
    if not 0.0 < float(value) < 1.0:
        raise ValueError(f"min_confidence must be in (0, 1), got {value}")
    return float(value)


def check_keep_fraction(value: float) -> float:
    """``value`` as a float in (0, 1]; ``ValueError`` naming it otherwise."""
    if not 0.0 < float(value) <= 1.0:
        raise ValueError(f"keep_fraction must be in (0, 1], got {value}")
    return float(value)


def _fingerprint(images: torch.Tensor, labels: torch.Tensor, *settings) -> str:
    digest = hashlib.sha256()
    digest.update(images.float().contiguous().numpy().tobytes())
    digest.update(labels.long().numpy().tobytes())
    digest.update(":".join(str(setting) for setting in settings).encode())
    return digest.hexdigest()


class ConfidenceFilter:
    """``filter(images (N, 1, S, S) in [-1, 1], class_index) -> (N,) bool``: softmax probability of the class >=
    threshold.

    Args:
        classifier: a classifier of the generator's K classes (input (N, 1, S, S) in [-1, 1], output (N, K) logits).
        min_confidence: the threshold, in (0, 1).

    Raises:
        ValueError: a threshold outside (0, 1).
    """

    def __init__(self, classifier: nn.Module, min_confidence: float):
        self.classifier = classifier.eval()
        self.min_confidence = check_min_confidence(min_confidence)

    @torch.no_grad()
    def confidence(self, images: torch.Tensor, class_index: int) -> torch.Tensor:
        """(N,) softmax probability of ``class_index`` for each ROI."""
        logits = self.classifier(torch.as_tensor(images).float())
        return torch.softmax(logits.float(), dim=1)[:, int(class_index)]

    def __call__(self, images: torch.Tensor, class_index: int) -> torch.Tensor:
        return self.confidence(images, class_index) >= self.min_confidence

    @classmethod
    def fit(
        cls,
        images: torch.Tensor,
        labels: torch.Tensor,
        num_classes: int,
        min_confidence: float,
        cache: str | PathLike | None = None,
        epochs: int = 10,
        seed: int = 0,
    ) -> ConfidenceFilter:
        """The filter of a classifier fitted on real ROIs, read from ``cache`` when it was fitted on the same data.

        Args:
            images: real training ROIs (N, 1, S, S) in [-1, 1]; labels: (N,) generator class indices.
            num_classes: K, the generator's classes.
            min_confidence: the threshold, in (0, 1).
            cache: file of the fitted classifier (e.g. ``bundle/models/sample_filter.pt``), or None for no cache.
            epochs, seed: the classifier's fit (passes over the data, the only randomness).

        Raises:
            ValueError: a threshold outside (0, 1), fewer than 2 ROIs, or a label outside 0..K-1.
        """
        check_min_confidence(min_confidence)
        images, labels = torch.as_tensor(images).float(), torch.as_tensor(labels).long()
        if len(labels) and not 0 <= int(labels.min()) <= int(labels.max()) < num_classes:
            raise ValueError(
                f"labels must be generator class indices 0..{num_classes - 1}, got {labels.unique().tolist()}"
            )
        key = _fingerprint(images, labels, num_classes, epochs, seed)
        state = _cached(cache, key, "sample filter")
        classifier = None if state is None else _classifier(state["classifier"], num_classes, images.shape[-1])
        if classifier is None:
            classifier = train_roi_classifier(
                roi_items(images, labels),
                num_classes,
                epochs=epochs,
                seed=seed,
                input_size=images.shape[-1],
                balanced=True,
            )
            _write_cache(cache, {"fingerprint": key, "classifier": classifier.state_dict()}, "sample filter")
        return cls(classifier, min_confidence)

    @classmethod
    def from_items(cls, items: Sequence[dict], num_classes: int, min_confidence: float, **kwargs) -> ConfidenceFilter:
        """:meth:`fit` on datalist items ``{"image": (1, S, S), "label": int}`` (e.g. the bundle's ``roi_datalist``)."""
        return cls.fit(*_stacked(items), num_classes, min_confidence, **kwargs)


def _cached(cache: str | PathLike | None, key: str, what: str) -> dict | None:
    """The state cached in ``cache`` when it was fitted on the same data and settings (``key``), else None."""
    if cache is None or not Path(cache).is_file():
        return None
    state = load_state_file(cache)
    if not isinstance(state, dict) or state.get("fingerprint") != key:
        logger.info(f"{what}: {cache} was fitted on other ROIs, generator or settings; refitting")
        return None
    logger.info(f"{what}: read from {cache}")
    return state


def _write_cache(cache: str | PathLike | None, state: dict, what: str) -> None:
    if cache is not None:
        atomic_write(cache, lambda tmp: torch.save(state, tmp))
        logger.info(f"{what}: fitted and cached in {cache}")


def _classifier(state: dict, num_classes: int, input_size: int) -> nn.Module:
    classifier = ROIClassifier(num_classes, input_size)
    classifier.load_state_dict(state)
    return classifier.eval()


class RealismFilter:
    """``filter(images (N, 1, S, S) in [-1, 1], class_index) -> (N,) bool``: the critic's log-odds that an ROI is
    real are at least the class's threshold.

    Args:
        critic: a real-vs-synthetic critic (:func:`~monai_roigan.engines.fit_realism_critic`).
        thresholds: ``{class index: threshold}`` on the critic's log-odds that an ROI is real
            (:func:`~monai_roigan.engines.real_log_odds`; :meth:`fit` sets them so that a share is kept). Log-odds
            stay finite where a critic is so sure that its probabilities round to 0.

    Raises:
        KeyError: at filtering time, a class without a threshold (named).
    """

    def __init__(self, critic: nn.Module, thresholds: dict[int, float]):
        self.critic = critic.eval()
        self.thresholds = {int(k): float(v) for k, v in thresholds.items()}

    def realness(self, images: torch.Tensor) -> torch.Tensor:
        """(N,) the critic's probability that each ROI is real."""
        return real_probability(self.critic, images)

    def __call__(self, images: torch.Tensor, class_index: int) -> torch.Tensor:
        if int(class_index) not in self.thresholds:
            raise KeyError(f"the realism filter has no threshold for class {class_index}: {sorted(self.thresholds)}")
        return real_log_odds(self.critic, images) >= self.thresholds[int(class_index)]

    @classmethod
    def fit(
        cls,
        images: torch.Tensor,
        labels: torch.Tensor,
        generator,
        num_classes: int,
        keep_fraction: float = 0.5,
        cache: str | PathLike | None = None,
        steps: int = 300,
        num_per_class: int = 256,
        lesion_share: float = 0.5,
        latent_distribution: str = "uniform",
        truncation: float = 1.0,
        seed: int = 0,
    ) -> RealismFilter:
        """The filter of a critic fitted on real ROIs against ``generator``'s, read from ``cache`` when it was fitted
        on the same ROIs, generator weights and settings.

        Args:
            images: real ROIs of the training women (N, 1, S, S) in [-1, 1]: lesions and normal tissue.
            labels: (N,) 0..K-1 a lesion class, K normal tissue (``train.json``'s ``tissue_datalist``).
            generator: the generator to filter (bundle folder, weights or checkpoint file, or module).
            num_classes: K, the generator's classes.
            keep_fraction: the share of each class's synthetic ROIs to keep, in (0, 1].
            cache: file of the fitted critic (e.g. ``bundle/models/realism_filter.pt``), or None for no cache.
            steps: the critic's training batches; num_per_class: synthetic ROIs per class it learns from, and
                again to set the thresholds on (other latents).
            lesion_share: the share of the real side's draws that are lesion ROIs.
            latent_distribution, truncation: the bundle's sampling settings.
            seed: the critic's fit, and (through seeds derived from it that share no latent with ``seed``,
                ``seed + 1``, ...) the synthetic draws to learn from and to calibrate on.

        Raises:
            ValueError: a ``keep_fraction`` outside (0, 1], a label outside 0..K, no real ROI, or a generator of
                another class count (named by :class:`~monai_roigan.networks.GeneratorSource`).
        """
        keep_fraction = check_keep_fraction(keep_fraction)
        images, labels = torch.as_tensor(images).float(), torch.as_tensor(labels).long()
        if len(labels) == 0 or not 0 <= int(labels.min()) <= int(labels.max()) <= num_classes:
            raise ValueError(f"labels must be 0..{num_classes} (K: normal tissue), got {labels.unique().tolist()}")
        source = GeneratorSource(generator, num_classes=num_classes)
        settings = (
            "log-odds",
            source.identity["sha256"],
            num_classes,
            keep_fraction,
            steps,
            num_per_class,
            lesion_share,
        )
        key = _fingerprint(images, labels, *settings, latent_distribution, truncation, seed)
        state = _cached(cache, key, "realism filter")
        if state is not None:
            return cls(_classifier(state["critic"], 2, images.shape[-1]), state["thresholds"])
        network = source.get()

        fit_seed, calibration_seed = _filter_seeds(seed)

        def draw(draw_seed: int) -> list[torch.Tensor]:
            indices = range(num_per_class)
            return [
                synthesize(network, k, indices, draw_seed, latent_distribution, truncation) for k in range(num_classes)
            ]

        weights = lesion_weights(labels, num_classes, lesion_share)
        critic = fit_realism_critic(images, torch.cat(draw(fit_seed)), steps, seed, real_weights=weights)
        thresholds = {  # keep_fraction 1 keeps everything, not only what scores above the calibration draw's least
            k: float(torch.quantile(real_log_odds(critic, fakes), 1 - keep_fraction))
            if keep_fraction < 1
            else -math.inf
            for k, fakes in enumerate(draw(calibration_seed))
        }
        _write_cache(
            cache, {"fingerprint": key, "critic": critic.state_dict(), "thresholds": thresholds}, "realism filter"
        )
        return cls(critic, thresholds)

    @classmethod
    def from_items(cls, items: Sequence[dict], generator, num_classes: int, **kwargs) -> RealismFilter:
        """:meth:`fit` on datalist items ``{"image": (1, S, S), "label": 0..K}`` (``train.json``'s
        ``tissue_datalist``)."""
        return cls.fit(*_stacked(items), generator, num_classes, **kwargs)


def _stacked(items: Sequence[dict]) -> tuple[torch.Tensor, torch.Tensor]:
    """(images (N, 1, S, S), labels (N,)) of datalist items ``{"image": (1, S, S), "label": int}``."""
    images = torch.stack([torch.as_tensor(item["image"]).float() for item in items])
    return images, torch.tensor([int(item["label"]) for item in items])


def _filter_seeds(seed: int) -> tuple[int, int]:
    """Seeds of the realism filter's two synthetic draws (to fit, to calibrate), derived from ``seed`` so that they
    share no latent with a sampler seeded ``seed``, ``seed + 1``, ... (e.g. the realism judge's draws)."""
    first, second = np.random.SeedSequence([int(seed), 0x5EA1]).generate_state(2)
    return int(first), int(second)
