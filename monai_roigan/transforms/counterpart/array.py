"""``NormalCounterpart``: the normal tissue a tissue in-filler predicts for an ROI's centre, as extra channels
(dictionary twin: :class:`~monai_roigan.transforms.counterpart.dictionary.NormalCounterpartd`).

A :class:`~monai_roigan.networks.nets.ContextROIGenerator` trained on normal tissue (``bundle/configs/counterpart.json``
trains one on the normal-tissue ROIs of a share of the training women, ``counterpart_fraction``) sees the ROI with its
centre masked and in-fills the centre with the tissue its surround predicts, for the normal-tissue class. That
prediction is the ROI's *normal counterpart*; the *residual* (ROI minus counterpart) is what the tissue alone does not
explain, which is what a radiologist looks for (Lee and Nishikawa's simulated normal counterpart). Outside the mask the
counterpart is the ROI itself, so the residual is exactly 0 there.

Conventions:

- input: one ROI (1, S, S) in ``intensity_range`` (default [-1, 1]; the in-filler works in [-1, 1]), S the
  generator's ROI size; output: (C, S, S) float32 MetaTensor in the same units, channel 0 the ROI, then the
  counterpart (``output`` "counterpart"), the residual ("residual": ROI minus counterpart, within +-(high - low)
  for ROIs inside the range) or both ("both": ROI, counterpart, residual), with meta ``counterpart_output``;
- deterministic: the latent is zero (``num_draws`` 0) or the mean in-fill of ``num_draws`` latents drawn from
  ``seed``, the same latents for every ROI; batch norm runs in eval mode;
- :meth:`NormalCounterpart.batch` does the same for a batch (N, 1, S, S) in one network call per chunk.
"""

from __future__ import annotations

import torch
from monai.data import MetaTensor
from monai.transforms import Transform
from monai.utils import TransformBackends, convert_to_tensor
from torch import nn

from monai_roigan.networks.nets.context import check_context_mask
from monai_roigan.networks.sampling import latent_for
from monai_roigan.networks.source import GeneratorSource, check_generator_kind
from monai_roigan.transforms.synthetic.array import check_single_roi

__all__ = ["COUNTERPART_OUTPUTS", "NormalCounterpart"]

#: what :class:`NormalCounterpart` appends to the ROI: the counterpart, the residual, or both (in that order)
COUNTERPART_OUTPUTS = ("residual", "counterpart", "both")


class NormalCounterpart(Transform):
    """The ROI (1, S, S) in [-1, 1] with its normal counterpart and/or residual as extra channels (module docstring).

    Args:
        generator: a tissue in-filler, a context generator (bundle folder, weights or checkpoint file, module or
            :class:`~monai_roigan.networks.GeneratorSource`); its normal-tissue class is used.
        output: ``"residual"`` (channels: ROI, residual), ``"counterpart"`` (ROI, counterpart) or ``"both"`` (ROI,
            counterpart, residual).
        num_draws: 0 for the zero latent, or K >= 1 for the mean in-fill of K latents drawn from ``seed``.
        seed: seed of those latents.
        mask: (1, S, S) in [0, 1], 1 where the centre is in-filled, or None for the generator's stored disc.
        device: where the generator runs.
        batch_size: ROIs per network call in :meth:`batch`.
        intensity_range: (low, high) of the pipeline's intensities, e.g. (0, 1) after ``ScaleIntensityd``.

    Raises:
        ValueError: an unknown ``output``, a negative ``num_draws``, a noise-to-ROI generator (named), or a mask of the
            wrong shape, outside [0, 1], covering the whole ROI or empty (named "mask"); at call time an ROI that is
            not (1, S, S) of the generator's size (its shape named).
    """

    backend = [TransformBackends.TORCH]

    def __init__(
        self,
        generator: str | nn.Module | GeneratorSource,
        output: str = "residual",
        num_draws: int = 0,
        seed: int = 0,
        mask=None,
        device="cpu",
        batch_size: int = 256,
        intensity_range: tuple[float, float] = (-1.0, 1.0),
    ):
        self.intensity_range = (float(intensity_range[0]), float(intensity_range[1]))
        if not self.intensity_range[1] > self.intensity_range[0]:
            raise ValueError(f"intensity_range must be (low, high) with low < high, got {intensity_range}")
        if output not in COUNTERPART_OUTPUTS:
            raise ValueError(f"output must be one of {COUNTERPART_OUTPUTS}, got {output!r}")
        if int(num_draws) < 0:
            raise ValueError(f"num_draws must be 0 (the zero latent) or more, got {num_draws}")
        if isinstance(generator, GeneratorSource):
            self.source = generator
            check_generator_kind(generator.get(), "context", generator.path or generator.identity.get("class"))
        else:
            self.source = GeneratorSource(generator, device=device, kind="context")
        self.output, self.batch_size = output, int(batch_size)
        size = self.source.output_size
        self.mask = None if mask is None else check_context_mask(torch.as_tensor(mask).cpu(), size, "mask")
        if self.mask is not None and self.mask.shape[0] != 1:
            raise ValueError(f"mask: one (1, {size}, {size}) mask for every ROI, got {tuple(self.mask.shape)}")
        normal, dim = self.source.num_classes, self.source.latent_dim
        draws = [latent_for(seed, normal, k, dim) for k in range(int(num_draws))]
        self.latents = torch.stack(draws) if draws else torch.zeros(1, dim)

    def mask_region(self) -> torch.Tensor:
        """(S, S) in [0, 1]: the in-filled region (the given mask, or the generator's stored disc)."""
        return (self.source.get().mask if self.mask is None else self.mask).detach().cpu()[0, 0]

    @property
    def num_channels(self) -> int:
        """Channels of the output: 3 for ``"both"``, else 2."""
        return 3 if self.output == "both" else 2

    def _check(self, images: torch.Tensor) -> torch.Tensor:
        size = self.source.output_size
        if images.ndim != 4 or tuple(images.shape[1:]) != (1, size, size):
            raise ValueError(
                f"ROI of shape {tuple(images.shape[1:])}: the tissue in-filler {self.source.describe()} needs "
                f"(1, {size}, {size}) ROIs in [-1, 1]; resize the ROI first"
            )
        return images.detach().float().cpu()

    @torch.no_grad()
    def counterparts(self, images: torch.Tensor) -> torch.Tensor:
        """(N, 1, S, S) normal counterparts of ROIs (N, 1, S, S) in [-1, 1] (the mean over the latents)."""
        images = self._check(torch.as_tensor(images))
        network = self.source.get()
        was_training = network.training
        network.eval()
        try:
            chunks = [self._in_fill(network, chunk) for chunk in images.split(self.batch_size)]
        finally:
            network.train(was_training)
        return torch.cat(chunks) if chunks else images.clone()

    def _in_fill(self, network: nn.Module, images: torch.Tensor) -> torch.Tensor:
        device = next(network.parameters()).device
        labels = torch.full((len(images),), self.source.num_classes, dtype=torch.long, device=device)
        mask = None if self.mask is None else self.mask.to(device)
        total = torch.zeros_like(images)
        for z in self.latents:
            latents = z.expand(len(images), -1).to(device)
            total += network(latents, labels, images.to(device), mask).float().cpu()
        return total / len(self.latents)

    def batch(self, images: torch.Tensor) -> torch.Tensor:
        """(N, C, S, S): the ROIs (N, 1, S, S) in ``intensity_range`` with their extra channels (``output``), in the
        same units."""
        images = self._check(torch.as_tensor(images))
        low, high = self.intensity_range
        unit = images if (low, high) == (-1.0, 1.0) else (images - low) / (high - low) * 2 - 1
        residual = (unit - self.counterparts(unit)) * ((high - low) / 2)  # exactly 0 where the ROI is kept
        counterpart = images - residual
        extra = {"residual": [residual], "counterpart": [counterpart], "both": [counterpart, residual]}
        return torch.cat([images, *extra[self.output]], dim=1)

    def __call__(self, img):
        check_single_roi(img)
        values = convert_to_tensor(img, track_meta=False)
        out = self.batch(values[None])[0]
        meta = dict(img.meta) if isinstance(img, MetaTensor) else {}
        return MetaTensor(out, meta={**meta, "counterpart_output": self.output})
