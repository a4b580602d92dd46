"""``ContextGanTrainer``: the :class:`ROIGanTrainer` iteration for a lesion in-filling generator.

The batch holds lesion ROIs (labels 0..K-1) and normal-tissue ROIs (label K). Every real ROI becomes the
context of one fake: the generator (:class:`~monai_roigan.networks.nets.ContextROIGenerator`) sees it with its
masked region blanked and fills that region. The fakes are generated for

- the ROI's own label: a lesion ROI is reconstructed (its lesion painted back), a tissue ROI gets tissue; and,
  with probability ``insert_prob`` for each tissue ROI, a lesion class drawn uniformly from 0..K-1 instead: a
  lesion inserted into normal tissue, which is what the generator is used for afterwards.

The discriminator judges every fake with the label it was generated for (projection term and auxiliary class
head, as in :class:`ROIGanTrainer`). Two terms join the generator's loss (``engine.state.output`` carries them):

- ``reconstruction``: ``reconstruction_weight`` times the mean absolute difference, inside the mask, between a
  fake and its real ROI, over the fakes generated for their own label (inserted lesions have no target);
- ``outside``: ``outside_weight`` times the mean absolute difference, outside the mask, between the network's raw
  output and the context (the blend already keeps those pixels; the term makes the seam match).

The mask is the generator's centred disc (``mask_shape="disc"``), or a new random soft blob for every fake
(``"random"``, :func:`~monai_roigan.transforms.blending.random_soft_mask`), so the generator learns to fill regions
of any shape and size and :class:`~monai_roigan.transforms.InsertSyntheticLesion` can draw one per insertion. The
discriminator sees every fake whole: the in-filled region and the real context around it, seam included.

Latents, the insertion draws, the masks and DiffAugment come from the trainer's seeded stream, so a seed gives one
run.
"""

from __future__ import annotations

import numpy as np
import torch

from monai_roigan.engines.trainer import ROIGanTrainer
from monai_roigan.transforms.blending import MASK_SHAPES, random_soft_mask

__all__ = ["ContextGanTrainer"]


class ContextGanTrainer(ROIGanTrainer):
    """Adversarial training of a :class:`~monai_roigan.networks.nets.ContextROIGenerator`.

    Args:
        num_lesion_classes: K; label K is normal tissue (the generator's extra embedding row).
        insert_prob: probability that a tissue ROI's fake gets a lesion class instead of tissue.
        reconstruction_weight: weight of the in-mask reconstruction term (0 disables).
        outside_weight: weight of the outside-the-mask term on the raw output (0 disables).
        mask_shape: ``"disc"`` (the generator's mask) or ``"random"`` (a random soft blob per fake).
        other arguments: as for :class:`ROIGanTrainer` (``generator_input.conditional`` must be True).
    """

    def __init__(
        self,
        *args,
        num_lesion_classes: int,
        insert_prob: float = 0.5,
        reconstruction_weight: float = 1.0,
        outside_weight: float = 1.0,
        mask_shape: str = "disc",
        **kwargs,
    ):
        if not 0 <= float(insert_prob) <= 1:
            raise ValueError(f"insert_prob must lie in [0, 1], got {insert_prob}")
        if mask_shape not in MASK_SHAPES:
            raise ValueError(f"mask_shape must be one of {MASK_SHAPES}, got {mask_shape!r}")
        generator_input = kwargs.get("generator_input")
        if generator_input is not None and generator_input.conditional is False:
            raise ValueError("a context generator is conditional: generator_input.conditional must be True")
        super().__init__(*args, **kwargs)
        self.num_lesion_classes, self.insert_prob = int(num_lesion_classes), float(insert_prob)
        self.reconstruction_weight, self.outside_weight = float(reconstruction_weight), float(outside_weight)
        self.mask_shape = mask_shape
        self._last: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None

    def _fake_labels(self, labels: torch.Tensor | None) -> torch.Tensor:
        draws = torch.rand(labels.shape[0], generator=self.draw_rng)
        lesions = torch.randint(0, self.num_lesion_classes, (labels.shape[0],), generator=self.draw_rng)
        insert = (labels.cpu() == self.num_lesion_classes) & (draws < self.insert_prob)
        return torch.where(insert, lesions, labels.cpu()).to(labels.device)

    def _masks(self, real: torch.Tensor) -> torch.Tensor:
        """The in-fill masks of a batch: the generator's disc (1, 1, S, S), or one random blob per ROI (B, 1, S, S)
        drawn from the trainer's seeded stream."""
        if self.mask_shape == "disc":
            return _unwrap(self.g_network).mask.to(real.device)
        rng = np.random.RandomState(int(torch.randint(0, 2**31 - 1, (1,), generator=self.draw_rng)))
        size = real.shape[-1]
        return torch.stack([random_soft_mask(size, rng) for _ in range(real.shape[0])])[:, None].to(real.device)

    def _generate(self, z: torch.Tensor, fake_labels: torch.Tensor | None, real: torch.Tensor) -> torch.Tensor:
        mask = self._masks(real)
        fake, raw = self.g_network(z, fake_labels, context=real, mask=mask, return_raw=True)
        self._last = (fake, raw, mask)
        return fake

    def _generator_penalty(self, real: torch.Tensor, labels, fake_labels) -> dict[str, torch.Tensor]:
        fake, raw, mask = self._last
        self._last = None
        own = (fake_labels == labels).float().view(-1, 1, 1, 1)
        inside = (fake.float() - real).abs() * own  # fake - real = mask * (raw - real): already mask-weighted
        reconstruction = inside.sum() / (mask.expand_as(real) * own).sum().clamp(min=1.0)
        outside = ((raw.float() - real).abs() * (1 - mask)).mean() / (1 - mask).mean()
        return {"reconstruction": self.reconstruction_weight * reconstruction, "outside": self.outside_weight * outside}


def _unwrap(network: torch.nn.Module) -> torch.nn.Module:
    """The generator inside a ``DistributedDataParallel`` (or similar) wrapper."""
    return getattr(network, "module", network)
