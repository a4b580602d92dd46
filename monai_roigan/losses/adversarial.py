"""Adversarial losses on discriminator logits: the paper's BCE with label tricks, LSGAN and hinge.

The paper's discriminator loss is ``-(log D(x) + log(1 - D(G(z))))`` and its generator loss the
non-saturating ``-log D(G(z))``, trained with one-sided label smoothing (factor 0.1), noisy labels and
occasional label flipping. :class:`AdversarialLoss` implements all three on *logits* (numerically stable
``binary_cross_entropy_with_logits``) and, for comparison, the least-squares (LSGAN) and hinge losses.

Target rules for ``"bce"`` (each configurable, all off when set to None / 0):

- ``real_range`` / ``fake_range``: real targets drawn uniformly from [0.7, 1.1] and fake targets from
  [0.0, 0.3] per sample (noisy labels);
- ``smoothing``: one-sided label smoothing: with no ``real_range`` the real target is ``1 - smoothing``;
  with a range, the range is used as is (it already lies mostly below 1);
- ``flip_prob``: each sample's real/fake target is swapped with this probability.
The generator always aims at the clean target 1.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["AdversarialLoss", "LOSS_TYPES"]

LOSS_TYPES = ("bce", "lsgan", "hinge")


class AdversarialLoss:
    """Discriminator and generator losses for one adversarial objective.

    Args:
        loss_type: ``"bce"`` (paper), ``"lsgan"`` or ``"hinge"``.
        smoothing: one-sided label smoothing factor (paper: 0.1).
        real_range: range of noisy real targets, e.g. (0.7, 1.1); None for fixed targets.
        fake_range: range of noisy fake targets, e.g. (0.0, 0.3); None for 0.
        flip_prob: probability of swapping a sample's real and fake targets.
        rng: random stream (a torch.Generator) for the target noise and label flips (reproducible runs).
    """

    def __init__(
        self,
        loss_type: str = "bce",
        smoothing: float = 0.1,
        real_range: tuple[float, float] | None = (0.7, 1.1),
        fake_range: tuple[float, float] | None = (0.0, 0.3),
        flip_prob: float = 0.05,
        rng: torch.Generator | None = None,
    ):
        if loss_type not in LOSS_TYPES:
            raise ValueError(f"loss_type must be one of {LOSS_TYPES}, got {loss_type!r}")
        self.loss_type, self.smoothing = loss_type, smoothing
        self.real_range = real_range
        self.fake_range = fake_range
        self.flip_prob = flip_prob
        self.rng = rng

    def _uniform(self, like: torch.Tensor, value_range: tuple[float, float] | None, default: float) -> torch.Tensor:
        if value_range is None:
            return torch.full_like(like, default)
        lo, hi = value_range
        noise = torch.rand(like.shape, generator=self.rng, device="cpu").to(like.device, like.dtype)
        return lo + (hi - lo) * noise

    def targets(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-sample (real, fake) BCE targets after noise, smoothing and flipping."""
        real = self._uniform(real_logits, self.real_range, 1.0 - self.smoothing)
        fake = self._uniform(fake_logits, self.fake_range, 0.0)
        if self.flip_prob > 0:
            flip_real = torch.rand(real.shape, generator=self.rng).to(real.device) < self.flip_prob
            flip_fake = torch.rand(fake.shape, generator=self.rng).to(fake.device) < self.flip_prob
            real, fake = torch.where(flip_real, 1.0 - real, real), torch.where(flip_fake, 1.0 - fake, fake)
        return real, fake

    def discriminator(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        """Scalar discriminator loss from logits on real and on generated ROIs."""
        if self.loss_type == "hinge":
            return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()
        real_target, fake_target = self.targets(real_logits, fake_logits)
        if self.loss_type == "lsgan":
            return 0.5 * (F.mse_loss(real_logits, real_target) + F.mse_loss(fake_logits, fake_target))
        bce = F.binary_cross_entropy_with_logits
        return bce(real_logits, real_target.clamp(0, 1)) + bce(fake_logits, fake_target.clamp(0, 1))

    def generator_loss(self, fake_logits: torch.Tensor) -> torch.Tensor:
        """Scalar generator loss (non-saturating for BCE)."""
        if self.loss_type == "hinge":
            return -fake_logits.mean()
        if self.loss_type == "lsgan":
            return 0.5 * F.mse_loss(fake_logits, torch.ones_like(fake_logits))
        return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
