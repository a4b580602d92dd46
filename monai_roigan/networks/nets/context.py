"""``ContextROIGenerator``: a lesion in-filling generator (ciGAN-like, Wu et al. 2018).

Input: a real ROI ``context`` (B, 1, S, S) in [-1, 1], a mask (1, 1, S, S) or (B, 1, S, S) in [0, 1] that marks the
region to fill, class labels (B,) and latents (B, latent_dim). Output: (B, 1, S, S) in [-1, 1], the context with a
lesion of the label's class painted into the masked region:

    out = mask * G(context * (1 - mask), mask, z, y) + (1 - mask) * context

so every pixel where the mask is 0 is the context's pixel, exactly (the trainer also penalises the raw output
there, so the seam matches). The default mask is a disc of radius ``mask_radius * S`` at the ROI centre (where a
lesion ROI holds its lesion), feathered over its inner ``mask_feather * S`` pixels; outside the disc it is 0.

The network is MONAI's :class:`~monai.networks.nets.BasicUNet` (four down-samplings; up-sampling by interpolation
and convolution rather than transposed convolution, which leaves no checkerboard texture) on
``2 + condition_channels`` input channels: the masked context, the mask, and a conditioning map that a linear layer
makes from ``[z, embed(y)]`` at a quarter
of the ROI size and bilinear up-sampling spreads over the ROI (so noise and class reach every pixel, with spatial
variation). The label embedding has ``num_classes + 1`` rows: row ``num_classes`` is *normal tissue*, used while
training on normal-tissue ROIs; the public classes are the ``num_classes`` lesion classes.

Without a context (``forward(z, labels)``, the call every noise-to-ROI caller makes) the generator takes one from
its **context bank**: ``bank_size`` normal-tissue ROIs (N, 1, S, S) of the training women stored in the weights,
picked per sample by a hash of its latent (:meth:`bank_index`), so the same latent gives the same image. A
model trained on private images therefore carries real tissue pixels: see ``docs/context.md``. With
``bank_size=0`` the generator only in-fills contexts it is given.

The architecture is stored in the weights (buffer ``architecture``), so :func:`~monai_roigan.networks.load_generator`
rebuilds it from the file alone.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from monai.networks.nets import BasicUNet
from torch import nn

from .roigan import init_dcgan_weights

__all__ = ["ContextROIGenerator", "disc_mask", "check_context_mask"]


def disc_mask(size: int, radius: float, feather: float) -> torch.Tensor:
    """(1, 1, size, size) float32: 1 inside a centred disc of radius ``radius * size`` pixels, falling linearly to 0
    over its inner ``feather * size`` pixels, and exactly 0 outside it.

    Raises:
        ValueError: ``radius`` not positive, a disc that covers every pixel (from about 0.70 of the side: no context
            left), or ``feather`` not in [0, radius).
    """
    if radius <= 0:
        raise ValueError(f"mask_radius must be positive, got {radius}")
    if not 0 <= feather < radius:
        raise ValueError(f"mask_feather {feather} must lie in [0, mask_radius={radius})")
    centre = (size - 1) / 2
    yy, xx = torch.meshgrid(
        torch.arange(size, dtype=torch.float64), torch.arange(size, dtype=torch.float64), indexing="ij"
    )
    inside = radius * size - torch.sqrt((yy - centre) ** 2 + (xx - centre) ** 2)  # pixels inside the rim
    mask = (inside / max(feather * size, 1e-6)).clamp(0, 1) if feather > 0 else (inside > 0).double()
    if bool((mask > 0).all()):  # the corner pixels' centres lie inside the disc
        raise ValueError(
            f"mask_radius {radius} would leave no context: the disc covers every pixel of a {size}x{size} ROI"
        )
    return mask.float()[None, None]


def check_context_mask(mask: torch.Tensor, size: int, where: str = "mask") -> torch.Tensor:
    """``mask`` as (B or 1, 1, size, size) float32 in [0, 1] if each one leaves context and marks a region to fill.

    Raises:
        ValueError: wrong shape, values outside [0, 1], a mask that is nonzero everywhere (no context left) or zero
            everywhere (nothing to fill), naming ``where``.
    """
    mask = torch.as_tensor(mask, dtype=torch.float32)
    mask = mask[None] if mask.dim() == 3 else mask
    if mask.dim() != 4 or mask.shape[1] != 1 or tuple(mask.shape[2:]) != (size, size):
        raise ValueError(f"{where}: expected shape (1, {size}, {size}) per ROI, got {tuple(mask.shape)}")
    if mask.min() < 0 or mask.max() > 1:
        raise ValueError(f"{where}: values must lie in [0, 1], got [{float(mask.min())}, {float(mask.max())}]")
    flat = mask.flatten(1)
    if bool((flat > 0).all(dim=1).any()):
        raise ValueError(f"{where}: the mask covers every pixel of the ROI and would leave no context")
    if bool((flat == 0).all(dim=1).any()):
        raise ValueError(f"{where}: the mask is empty, there is no region to fill")
    return mask


class ContextROIGenerator(nn.Module):
    """Masked context ROI (B, 1, S, S), labels (B,) and latents (B, latent_dim) to ROIs (B, 1, S, S) in [-1, 1].

    Args:
        latent_dim: size of z.
        num_classes: lesion classes (the embedding has one more row, index ``num_classes``: normal tissue).
        width: channel multiplier; the U-Net has ``128 * width`` channels (at least 8) at full and half resolution,
            doubling at each further down-sampling (0.125: 16, 16, 32, 64, 128).
        output_size: ROI side S in pixels (a multiple of 16).
        mask_radius, mask_feather: the default in-fill region (:func:`disc_mask`), as shares of S.
        bank_size: number of context ROIs stored for :meth:`forward` without a context (0: none).
        context_bank: (bank_size, 1, S, S) normal-tissue ROIs in [-1, 1] to store now (None: zeros, filled by a
            loaded state dict).
        condition_channels: channels of the conditioning map.
        embedding_dim: size of the label embedding (default ``min(latent_dim, 64)``).
    """

    kind = "context"

    def __init__(
        self,
        latent_dim: int = 100,
        num_classes: int = 4,
        width: float = 0.125,
        output_size: int = 64,
        mask_radius: float = 0.3,
        mask_feather: float = 0.08,
        bank_size: int = 0,
        context_bank: torch.Tensor | None = None,
        condition_channels: int = 8,
        embedding_dim: int | None = None,
    ):
        super().__init__()
        if num_classes < 1:
            raise ValueError(f"a context generator needs num_classes >= 1, got {num_classes}")
        if output_size % 16:
            raise ValueError(f"output_size must be a multiple of 16, got {output_size}")
        self.latent_dim = int(latent_dim)
        self.num_classes = int(num_classes)
        self.output_size = int(output_size)
        self.embedding_dim = int(embedding_dim or min(latent_dim, 64))
        self.condition_channels, base = int(condition_channels), max(8, int(round(128 * width)))
        if context_bank is not None:
            bank_size = int(context_bank.shape[0])
        arch = [self.latent_dim, self.num_classes, base, self.output_size, self.condition_channels, self.embedding_dim]
        self.register_buffer("architecture", torch.tensor(arch, dtype=torch.long))
        self.register_buffer("mask", disc_mask(output_size, mask_radius, mask_feather))
        self.register_buffer("context_bank", torch.zeros(int(bank_size), 1, output_size, output_size))
        if context_bank is not None:
            self.set_context_bank(context_bank)
        self.embed = nn.Embedding(self.num_classes + 1, self.embedding_dim)
        quarter = output_size // 4
        self.condition = nn.Linear(self.latent_dim + self.embedding_dim, self.condition_channels * quarter * quarter)
        self.unet = BasicUNet(
            spatial_dims=2,
            in_channels=2 + self.condition_channels,
            out_channels=1,
            features=(base, base, 2 * base, 4 * base, 8 * base, base),
            norm="batch",
            upsample="nontrainable",
        )
        self.apply(init_dcgan_weights)

    @classmethod
    def from_state(cls, state: dict) -> ContextROIGenerator:
        """An untrained generator whose architecture fits ``state`` (its ``architecture`` and bank shapes)."""
        latent_dim, num_classes, base, size, cond, emb = (int(v) for v in state["architecture"])
        return cls(
            latent_dim,
            num_classes,
            base / 128,
            size,
            bank_size=int(state["context_bank"].shape[0]),
            condition_channels=cond,
            embedding_dim=emb,
        )

    @torch.no_grad()
    def set_context_bank(self, rois: torch.Tensor) -> None:
        """Store ``rois`` (N, 1, S, S) in [-1, 1] as the context bank (N must equal the bank size)."""
        rois = torch.as_tensor(rois, dtype=torch.float32)
        if tuple(rois.shape) != tuple(self.context_bank.shape):
            raise ValueError(f"context bank must be {tuple(self.context_bank.shape)}, got {tuple(rois.shape)}")
        if rois.numel() and (rois.min() < -1 - 1e-6 or rois.max() > 1 + 1e-6):
            raise ValueError(f"context bank ROIs must lie in [-1, 1], got [{float(rois.min())}, {float(rois.max())}]")
        self.context_bank.copy_(rois)

    def bank_index(self, z: torch.Tensor) -> torch.Tensor:
        """(B,) index into the context bank for latents (B, latent_dim): a hash of z, the same for the same z."""
        if self.context_bank.shape[0] == 0:
            raise ValueError(
                "this context generator has no context bank (bank_size=0): give it context ROIs, e.g. "
                "through InsertSyntheticLesion(d)"
            )
        keys = torch.round(z.float() * 2**16).long()
        weights = torch.arange(1, z.shape[1] + 1, device=z.device, dtype=torch.long) * 2654435761
        return torch.remainder((keys * weights).sum(dim=1), self.context_bank.shape[0])

    def forward(
        self,
        z: torch.Tensor,
        labels: torch.Tensor,
        context: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
        return_raw: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """The in-filled ROIs (B, 1, S, S); with ``return_raw`` also the network's output before blending.

        Args:
            z: latents (B, latent_dim).
            labels: (B,) class indices in 0..num_classes (num_classes: normal tissue).
            context: (B, 1, S, S) ROIs in [-1, 1]; None takes them from the context bank (:meth:`bank_index`).
            mask: (1 or B, 1, S, S) in [0, 1], 0 where the context is kept; None: the stored disc.
        """
        if labels is None:
            raise ValueError("a context generator needs class labels")
        if context is None:
            context = self.context_bank[self.bank_index(z)]
        mask = self.mask if mask is None else mask.to(context.device, context.dtype)
        mask = mask.expand(context.shape[0], 1, *context.shape[2:])
        quarter = self.output_size // 4
        code = self.condition(torch.cat([z, self.embed(labels.long().view(-1))], dim=1))
        code = code.view(-1, self.condition_channels, quarter, quarter)
        code = F.interpolate(code, size=tuple(context.shape[2:]), mode="bilinear", align_corners=False)
        raw = torch.tanh(self.unet(torch.cat([context * (1 - mask), mask, code], dim=1)))
        out = mask * raw + (1 - mask) * context
        return (out, raw) if return_raw else out
