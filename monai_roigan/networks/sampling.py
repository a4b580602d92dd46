"""Sampling a trained generator: latents, truncation, batched generation, and fitting ROIs to a pipeline.

Every caller that draws images from a generator goes through this module: training (random latents from the
trainer's stream), the sample grids and quality score during training (fixed latents), generation to files,
the augmentation transforms, the balanced dataset and evaluation (latents keyed by seed, class and index).

- :func:`sample_latent`: ``num`` latents from a :class:`torch.Generator` (training and fixed-noise batches);
- :func:`latent_for`: the latent of ROI ``index`` of class ``class_index`` for ``seed``, the same whatever
  else is generated with it (so a batch size or a shard never changes an image);
- :func:`run_generator`: run a generator on given latents in eval mode (batch-norm running statistics);
- :func:`synthesize`: ROIs ``indices`` of one class for a seed, in one batch;
- :func:`fit_to_pipeline`: a generated ROI in [-1, 1] mapped onto a pipeline's intensity range, spatial size
  and channel count.

Generated ROIs are (N, 1, S, S) float32 in [-1, 1] on the CPU (S = 64 by default).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from monai.transforms import Resize

from monai_roigan.utils.seeding import derived_rng

__all__ = [
    "LATENT_DISTRIBUTIONS",
    "check_truncation",
    "sample_latent",
    "latent_for",
    "run_generator",
    "synthesize",
    "fit_to_pipeline",
]

#: how latents are drawn: U(-1, 1) (the paper, and the default) or N(0, 1)
LATENT_DISTRIBUTIONS = ("uniform", "normal")


def check_latent_distribution(distribution: str) -> str:
    """``distribution`` if it is one of :data:`LATENT_DISTRIBUTIONS` (ValueError otherwise)."""
    if distribution not in LATENT_DISTRIBUTIONS:
        raise ValueError(f"latent_distribution must be one of {LATENT_DISTRIBUTIONS}, got {distribution!r}")
    return distribution


def check_truncation(truncation: float) -> float:
    """``truncation`` as a float in (0, 1] (ValueError otherwise)."""
    if not 0 < float(truncation) <= 1:
        raise ValueError(f"truncation must lie in (0, 1], got {truncation}")
    return float(truncation)


def sample_latent(num: int, latent_dim: int, distribution: str, rng: torch.Generator) -> torch.Tensor:
    """(num, latent_dim) float32 on the CPU: U(-1, 1) (the paper) or N(0, 1), drawn from ``rng``."""
    if check_latent_distribution(distribution) == "uniform":
        return torch.rand(num, latent_dim, generator=rng) * 2 - 1
    return torch.randn(num, latent_dim, generator=rng)


def latent_for(
    seed: int, class_index: int, index: int, latent_dim: int, distribution: str = "uniform", truncation: float = 1.0
) -> torch.Tensor:
    """The latent vector (latent_dim,) of ROI ``index`` of class ``class_index`` for ``seed``.

    ``truncation`` (psi in (0, 1]) scales the latent: U(-psi, psi) instead of U(-1, 1) (the "truncation
    trick" of Brock et al. 2019): typical, more class-faithful ROIs at the cost of some diversity.
    """
    rng = derived_rng(seed, "latent", class_index, index)
    if check_latent_distribution(distribution) == "uniform":
        z = rng.uniform(-1.0, 1.0, latent_dim)
    else:
        z = rng.standard_normal(latent_dim)
    return torch.from_numpy((z * check_truncation(truncation)).astype(np.float32))


@torch.no_grad()
def run_generator(network: torch.nn.Module, z: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
    """``network(z, labels)`` in eval mode (batch-norm running statistics), its mode restored afterwards.

    Args:
        network: a generator ``(z (N, latent_dim), labels (N,) or None) -> (N, 1, S, S)``.
        z: latents (N, latent_dim); labels: class indices (N,), or None for an unconditional generator.

    Returns:
        (N, 1, S, S) float32 in [-1, 1] on the CPU.
    """
    was_training = network.training
    network.eval()
    try:
        device = next(network.parameters()).device
        return network(z.to(device), None if labels is None else labels.to(device)).float().cpu()
    finally:
        network.train(was_training)


def synthesize(
    network: torch.nn.Module,
    class_index: int,
    indices: Sequence[int],
    seed: int = 0,
    latent_distribution: str = "uniform",
    truncation: float = 1.0,
) -> torch.Tensor:
    """Synthetic ROIs ``indices`` of class ``class_index`` for ``seed``: (len(indices), 1, S, S) in [-1, 1] on the CPU.

    ROI ``k`` is the same image whatever else is generated with it (its latent is :func:`latent_for`). The
    latent size comes from ``network.latent_dim``; a network with ``num_classes == 0`` gets no labels.
    """
    args = (int(network.latent_dim), latent_distribution, truncation)
    z = torch.stack([latent_for(seed, class_index, k, *args) for k in indices])
    conditional = int(getattr(network, "num_classes", 0)) > 0
    labels = torch.full((len(indices),), class_index, dtype=torch.long) if conditional else None
    return run_generator(network, z, labels)


def fit_to_pipeline(
    roi: torch.Tensor, intensity_range: tuple[float, float], spatial_size: Sequence[int], channels: int
) -> torch.Tensor:
    """A generated ROI (1, S, S) in [-1, 1] as a pipeline expects it: (channels, *spatial_size) in ``intensity_range``.

    The intensities are mapped linearly ([-1, 1] onto (low, high)); a different spatial size is reached by
    area resampling; the single channel is repeated ``channels`` times. Returns a new CPU tensor.
    """
    low, high = intensity_range
    roi = low + (roi + 1.0) * 0.5 * (high - low)
    spatial = tuple(int(s) for s in spatial_size)
    if tuple(roi.shape[1:]) != spatial:
        roi = torch.as_tensor(Resize(spatial, mode="area")(roi))
    return roi.expand(int(channels), *spatial).clone()
