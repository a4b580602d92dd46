"""Keep only the synthetic ROIs that teach: a real-trained classifier must recognise their class.

:class:`ConfidenceFilter` is a sample filter for :class:`~monai_roigan.transforms.SyntheticROIAugment(d)
<monai_roigan.transforms.SyntheticROIAugment>` and :class:`~monai_roigan.apps.SyntheticBalancedDataset`: a synthetic
ROI of generator class ``c`` is kept when an :class:`~monai_roigan.networks.nets.ROIClassifier` fitted on the real
training ROIs gives ``c`` a softmax probability of at least ``min_confidence``. ROIs the real data's classifier
cannot place in their class are the ones least likely to teach a downstream classifier that class.

The classifier is fitted once (:func:`~monai_roigan.engines.train_roi_classifier`, seeded, every class drawn
equally often) and cached in a file beside the bundle (``<bundle>/models/sample_filter.pt``): a tensor-only
state dict with a fingerprint of the ROIs and settings it was fitted on. A cache whose fingerprint differs is
refitted and rewritten (atomically), so new training data never meets a stale filter.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from os import PathLike
from pathlib import Path

import torch
from torch import nn

from monai_roigan.engines.classifier import roi_items, train_roi_classifier
from monai_roigan.networks.nets.roi_classifier import ROIClassifier
from monai_roigan.utils.atomic import atomic_write
from monai_roigan.utils.safe_load import load_state_file

__all__ = ["ConfidenceFilter", "check_min_confidence"]

logger = logging.getLogger("monai_roigan.sample_filter")


def check_min_confidence(value: float) -> float:
    """``value`` as a float strictly inside (0, 1); ``ValueError`` naming it otherwise."""
    if not 0.0 < float(value) < 1.0:
        raise ValueError(f"min_confidence must be in (0, 1), got {value}")
    return float(value)


def _fingerprint(images: torch.Tensor, labels: torch.Tensor, num_classes: int, epochs: int, seed: int) -> str:
    digest = hashlib.sha256()
    digest.update(images.float().contiguous().numpy().tobytes())
    digest.update(labels.long().numpy().tobytes())
    digest.update(f"{num_classes}:{epochs}:{seed}".encode())
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
        classifier = _cached(cache, key, num_classes, images.shape[-1])
        if classifier is None:
            classifier = train_roi_classifier(
                roi_items(images, labels),
                num_classes,
                epochs=epochs,
                seed=seed,
                input_size=images.shape[-1],
                balanced=True,
            )
            if cache is not None:
                state = {"fingerprint": key, "classifier": classifier.state_dict()}
                atomic_write(cache, lambda tmp: torch.save(state, tmp))
                logger.info(f"sample filter: classifier fitted on {len(labels)} real ROIs, cached in {cache}")
        return cls(classifier, min_confidence)

    @classmethod
    def from_items(cls, items: Sequence[dict], num_classes: int, min_confidence: float, **kwargs) -> ConfidenceFilter:
        """:meth:`fit` on datalist items ``{"image": (1, S, S), "label": int}`` (e.g. the bundle's ``roi_datalist``)."""
        images = torch.stack([torch.as_tensor(item["image"]).float() for item in items])
        labels = torch.tensor([int(item["label"]) for item in items])
        return cls.fit(images, labels, num_classes, min_confidence, **kwargs)


def _cached(cache: str | PathLike | None, key: str, num_classes: int, input_size: int) -> nn.Module | None:
    """The cached classifier when ``cache`` holds one fitted on the same data (``key``), else None."""
    if cache is None or not Path(cache).is_file():
        return None
    state = load_state_file(cache)
    if not isinstance(state, dict) or state.get("fingerprint") != key:
        logger.info(f"sample filter: {cache} was fitted on other ROIs or settings; refitting")
        return None
    classifier = ROIClassifier(num_classes, input_size)
    classifier.load_state_dict(state["classifier"])
    logger.info(f"sample filter: classifier read from {cache}")
    return classifier.eval()
