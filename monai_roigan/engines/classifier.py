"""Training an ROI classifier: the one function used for class fidelity, evaluation and the downstream experiment.

:func:`train_roi_classifier` fits a :class:`~monai_roigan.networks.nets.ROIClassifier` with Adam on a dataset of
``{"image": (1, S, S) in [-1, 1], "label": int}`` items (a list, or a MONAI ``Dataset`` whose transforms
augment each item as it is read). Everything random is drawn from ``seed`` inside
:func:`torch.random.fork_rng`: the initial weights, the order of the items (a fresh permutation per pass over
the data) and the random transforms of the dataset (MONAI's ``set_rnd``). The global random states of torch,
NumPy and Python are neither read nor changed, so a training run that scores its generator with a classifier
stays reproducible, and the same seed gives the same classifier.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from monai.data import MetaTensor, list_data_collate
from monai.data.utils import set_rnd
from torch import nn

from monai_roigan.networks.nets.roi_classifier import ROIClassifier

__all__ = ["balancing_weights", "check_sampling_weights", "roi_items", "train_roi_classifier"]


def roi_items(images: torch.Tensor, labels: torch.Tensor) -> list[dict]:
    """Datalist items ``{"image": (1, S, S), "label": int}`` of ROIs (N, 1, S, S) and labels (N,)."""
    if len(images) != len(labels) or len(images) == 0:
        raise ValueError(f"need as many labels as images (and at least one), got {len(images)} and {len(labels)}")
    return [{"image": image, "label": int(label)} for image, label in zip(torch.as_tensor(images), labels)]


def _batches(
    num: int,
    batch_size: int,
    epochs: int | None,
    steps: int | None,
    drop_last: bool,
    weights: torch.Tensor | None = None,
) -> Iterator[torch.Tensor]:
    """Index batches: a fresh permutation of ``num`` items per pass (with ``weights``: ``num`` draws with replacement
    in proportion to them), split into ``batch_size``; a last batch smaller than ``batch_size`` (``drop_last``) or
    than 2 (batch norm needs two) is skipped. ``epochs`` passes, or passes until ``steps`` batches were given."""
    given, passes = 0, 0
    while (epochs is None or passes < epochs) and (steps is None or given < steps):
        passes += 1
        order = torch.randperm(num) if weights is None else torch.multinomial(weights, num, replacement=True)
        for idx in order.split(batch_size):
            if len(idx) < (batch_size if drop_last else 2):
                continue
            yield idx
            given += 1
            if steps is not None and given == steps:
                return


def balancing_weights(data: Sequence[dict], power: float = 1.0) -> torch.Tensor:
    """(N,) sampling weights ``count(label) ** -power`` (labels read before any transform: a MONAI ``Dataset``'s
    ``data``). ``power`` 1: every class is drawn equally often; 0.5: square-root balancing; 0: as the data holds."""
    labels = torch.tensor([int(item["label"]) for item in getattr(data, "data", data)])
    return torch.bincount(labels).double()[labels] ** -float(power)


def check_sampling_weights(weights, count: int, name: str = "weights") -> torch.Tensor:
    """``weights`` as a (count,) float64 tensor; ``ValueError`` naming ``name`` when there are not ``count`` of
    them, one is negative, or all are 0."""
    weights = torch.as_tensor(weights, dtype=torch.double).flatten()
    if len(weights) != count:
        raise ValueError(f"{name} must be {count} numbers, one per item; got {len(weights)}")
    if bool((weights < 0).any()) or not bool(torch.isfinite(weights).all()):
        raise ValueError(f"{name} must be finite and non-negative; got a minimum of {float(weights.min())}")
    if not bool((weights > 0).any()):
        raise ValueError(f"{name} are all 0: nothing could be drawn")
    return weights


def _images(batch: dict, memory_format: torch.memory_format, channels: int | None) -> torch.Tensor:
    images = batch["image"]
    images = images.as_tensor() if isinstance(images, MetaTensor) else torch.as_tensor(images)
    if channels is not None and (images.ndim != 4 or images.shape[1] != channels):
        raise ValueError(
            f"the classifier takes images of {channels} channel(s) (in_channels), the items hold images of shape "
            f"{tuple(images.shape[1:])}"
        )
    return images.float().contiguous(memory_format=memory_format)


def train_roi_classifier(
    data: Sequence[dict],
    num_classes: int,
    epochs: int | None = None,
    steps: int | None = None,
    batch_size: int = 32,
    lr: float = 1e-3,
    seed: int = 0,
    drop_last: bool = False,
    channels_last: bool = False,
    input_size: int = 64,
    balanced: bool | float = False,
    network: nn.Module | None = None,
    weights: torch.Tensor | None = None,
    in_channels: int = 1,
) -> nn.Module:
    """A :class:`ROIClassifier` fitted on ``data``; returned in eval mode, on the CPU.

    Args:
        data: items ``{"image": (1, S, S) in [-1, 1], "label": int in 0..num_classes-1}``; a dataset with random
            transforms is augmented afresh each time an item is read (:func:`roi_items` makes items of tensors).
        num_classes: K, the classifier's outputs.
        epochs, steps: train for ``epochs`` passes over the data, or for ``steps`` batches (exactly one of them).
        batch_size: items per batch (at most the dataset's size).
        lr: Adam's learning rate.
        seed: the only source of randomness (weights, order, transforms); the global RNGs are left untouched.
        drop_last: skip incomplete batches (otherwise only batches of one item are skipped).
        channels_last: train in channels-last memory (faster on the CPU; the same results to float rounding).
        input_size: S, the ROIs' side in pixels (a multiple of 16).
        balanced: draw items with replacement, weighted by :func:`balancing_weights` with this power (True: 1,
            every class equally often), instead of a permutation per pass: oversampling of the rare classes.
        network: continue training this classifier (e.g. a second phase on other data) instead of a new one.
        in_channels: C, the channels of each item's image (C, S, S): 1 for the ROI, more for extra channels such as
            :class:`~monai_roigan.transforms.NormalCounterpart`'s (ignored when ``network`` is given).
        weights: (N,) non-negative sampling weights, one per item: draw items with replacement in proportion to them
            (instead of ``balanced``'s).

    Raises:
        ValueError: fewer than 2 items, not exactly one of ``epochs`` and ``steps``, ``weights`` of another length
            than the data or with a negative or no positive weight, or items whose images do not have the
            classifier's channels (their shape named).
    """
    if len(data) < 2:
        raise ValueError(f"a classifier needs at least 2 training ROIs, got {len(data)}")
    if (epochs is None) == (steps is None):
        raise ValueError(f"give exactly one of epochs and steps, got epochs={epochs}, steps={steps}")
    if weights is not None:
        weights = check_sampling_weights(weights, len(data))
    batch_size = min(int(batch_size), len(data))  # a full batch always exists, so the loop ends
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    with torch.random.fork_rng(devices=range(torch.cuda.device_count())):  # manual_seed reseeds CUDA too
        torch.manual_seed(seed)
        set_rnd(data, seed)
        net = ROIClassifier(num_classes, input_size, in_channels) if network is None else network.train()
        net = net.to(memory_format=memory_format)
        channels = in_channels if network is None else None  # a given network is taken as it is
        optimizer = torch.optim.Adam(net.parameters(), lr)
        if weights is None:
            weights = balancing_weights(data, float(balanced)) if balanced else None
        for idx in _batches(len(data), batch_size, epochs, steps, drop_last, weights):
            batch = list_data_collate([data[int(i)] for i in idx])
            loss = nn.functional.cross_entropy(
                net(_images(batch, memory_format, channels)), torch.as_tensor(batch["label"]).long()
            )
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return net.eval()
