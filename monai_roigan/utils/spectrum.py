"""The folded mean power spectrum of a batch of square images, shared by the realism judge's spectral ratio
(``metrics.fingerprints``) and the generator's spectral penalty (``losses.spectral``)."""

from __future__ import annotations

import torch

__all__ = ["folded_power_spectrum"]


def folded_power_spectrum(images: torch.Tensor) -> torch.Tensor:
    """(S/2 + 1, S/2 + 1) mean power ``|FFT|^2 / S^2`` of images (..., S, S), each with its mean removed, averaged
    over every leading dimension and folded into the non-negative frequencies: the four sign combinations of a
    frequency averaged (row: vertical, column: horizontal, in cycles per image). Differentiable; keeps a floating
    dtype (integers become float32)."""
    images = images.as_subclass(torch.Tensor)  # a MetaTensor's batch metadata would not survive the indexing
    if not images.is_floating_point():
        images = images.float()
    images = images - images.mean(dim=(-2, -1), keepdim=True)
    size = images.shape[-1]
    power = (torch.fft.fft2(images).abs() ** 2).reshape(-1, size, size).mean(dim=0) / size**2
    pos = torch.arange(size // 2 + 1, device=images.device)
    neg = (-pos) % size
    return (power[pos][:, pos] + power[neg][:, pos] + power[pos][:, neg] + power[neg][:, neg]) / 4
