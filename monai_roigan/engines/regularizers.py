"""Small-data GAN regularisers: DiffAugment, the R1 gradient penalty and an EMA generator.

MIAS holds 15-60 lesions per class; a discriminator memorises that in a few hundred steps. These three
tools are the standard remedies:

- :class:`DiffAugment` (Zhao et al. 2020): the same *kind* of differentiable augmentation applied to every
  image the discriminator sees, real and generated, so the generator is not taught the augmentations.
  Policies: ``translation`` (shift by up to 1/8 of the side, filled with -1, the film background),
  ``cutout`` (a square of half the side set to -1), ``brightness`` (add U(-0.5, 0.5)) on images in [-1, 1].
- :func:`r1_penalty` (Mescheder et al. 2018): ``gamma / 2 * E ||grad_x D(x)||^2`` on real images.
- :func:`make_ema` / :func:`update_ema`: an exponential moving average of the generator's weights, via
  :class:`torch.optim.swa_utils.AveragedModel`, with the batch-norm statistics copied from the generator;
  the averaged generator is the one exported.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

__all__ = ["DiffAugment", "r1_penalty", "make_ema", "update_ema", "DIFFAUGMENT_POLICIES"]

DIFFAUGMENT_POLICIES = ("translation", "cutout", "brightness")


class DiffAugment(nn.Module):
    """Differentiable batch augmentation of (B, C, H, W) images in [-1, 1].

    Args:
        policy: a sequence of policy names from :data:`DIFFAUGMENT_POLICIES`; empty disables.
        rng: random stream (a torch.Generator) for the random draws (reproducible runs).
    """

    def __init__(self, policy: Sequence[str] = ("translation", "cutout"), rng: torch.Generator | None = None):
        super().__init__()
        unknown = set(policy) - set(DIFFAUGMENT_POLICIES)
        if unknown:
            raise ValueError(f"unknown DiffAugment policies {sorted(unknown)}; known: {DIFFAUGMENT_POLICIES}")
        self.policy, self.rng = tuple(policy), rng

    def _rand(self, *shape: int, device) -> torch.Tensor:
        return torch.rand(*shape, generator=self.rng).to(device)

    def brightness(self, x: torch.Tensor) -> torch.Tensor:
        return x + (self._rand(x.shape[0], 1, 1, 1, device=x.device).to(x.dtype) - 0.5)

    def translation(self, x: torch.Tensor, ratio: float = 0.125) -> torch.Tensor:
        b, _, h, w = x.shape
        shift = (self._rand(b, 2, device=x.device) * 2 - 1) * ratio * 2  # in normalised [-1, 1] units
        theta = torch.zeros(b, 2, 3, device=x.device, dtype=x.dtype)
        theta[:, 0, 0] = theta[:, 1, 1] = 1
        theta[:, :, 2] = shift.to(x.dtype)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        return F.grid_sample(x + 1, grid, mode="nearest", padding_mode="zeros", align_corners=False) - 1

    def cutout(self, x: torch.Tensor, ratio: float = 0.5) -> torch.Tensor:
        b, _, h, w = x.shape
        ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
        centre = self._rand(b, 2, device=x.device)
        top = (centre[:, 0] * (h + 1 - ch)).long().view(b, 1, 1)
        left = (centre[:, 1] * (w + 1 - cw)).long().view(b, 1, 1)
        rows = torch.arange(h, device=x.device).view(1, h, 1)
        cols = torch.arange(w, device=x.device).view(1, 1, w)
        hole = (rows >= top) & (rows < top + ch) & (cols >= left) & (cols < left + cw)
        return torch.where(hole.unsqueeze(1), torch.full_like(x, -1.0), x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for name in self.policy:
            x = getattr(self, name)(x)
        return x


def r1_penalty(d_network: nn.Module, real: torch.Tensor, labels: torch.Tensor | None, gamma: float) -> torch.Tensor:
    """``gamma / 2 * mean ||grad_x D(x, y)||^2`` over real images (create_graph for the backward pass)."""
    real = real.detach().requires_grad_(True)
    logits = d_network(real, labels)
    (grad,) = torch.autograd.grad(logits.sum(), real, create_graph=True)
    return 0.5 * gamma * grad.pow(2).flatten(1).sum(1).mean()


def make_ema(model: nn.Module, decay: float = 0.999) -> AveragedModel:
    """An EMA copy of ``model``'s weights; update it with :func:`update_ema` after each step.

    Batch-norm running statistics are *copied* from the model rather than averaged: averaged statistics do
    not match the averaged weights, and an eval-mode generator then produces washed-out grey images.
    """
    return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=False)


@torch.no_grad()
def update_ema(ema: AveragedModel, model: nn.Module) -> None:
    """Average ``model``'s parameters into ``ema`` and copy its buffers (batch-norm statistics)."""
    ema.update_parameters(model)
    for ema_buffer, buffer in zip(ema.module.buffers(), model.buffers()):
        ema_buffer.copy_(buffer)
