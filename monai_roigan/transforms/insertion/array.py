"""``InsertSyntheticLesion``: a trained context generator paints a lesion into a real ROI (dictionary twin:
:class:`~monai_roigan.transforms.insertion.dictionary.InsertSyntheticLesiond`).

A :class:`~monai_roigan.networks.nets.ContextROIGenerator` fills the masked centre of the ROI it receives with a
lesion of the chosen class and keeps the rest: every pixel where the mask is 0 is returned exactly as given (the
blend happens in the pipeline's own intensities, so no rounding touches them). The dictionary version turns ROIs of
``source_classes`` (normal tissue) into ROIs of a lesion class and rewrites the label, as
:class:`~monai_roigan.transforms.CopyPasteLesiond` does with real lesions: plentiful normal ROIs become rare-class
ROIs.

Conventions (as :class:`~monai_roigan.transforms.SyntheticROIAugment`):

- ROIs are channel-first (C, H, W) with H = W = the generator's ROI size (64 by default; resize first), in
  ``intensity_range`` (default [-1, 1]); several channels must be copies of one (the lesion is painted into all);
- meta of the output: ``synthetic`` (True/False on every sample), ``synthetic_generator`` (bundle version, weights
  hash, "context generator"), ``synthetic_class``, ``synthetic_seed`` and ``synthetic_index`` (0: the latent is
  :func:`~monai_roigan.networks.sampling.latent_for` of seed, class and 0); the keys that point at the ROI's
  source image (:data:`~monai_roigan.transforms.synthetic.array.SOURCE_IMAGE_KEYS`) are overwritten. The output still
  holds the real tissue outside the mask: it is a real image with a synthetic lesion, not a synthetic image;
- randomness comes from ``self.R`` only, so the same seed gives the same ROIs.

How the lesion meets the tissue (:mod:`monai_roigan.transforms.blending`): the generator in-fills the region of a
mask, the generator's centred disc by default, a random soft blob per insertion with ``mask_shape="random"`` (train the
generator with random masks too: ``context.json``'s ``mask_shape``). Its output is then blended into the ROI in a
mode drawn per insertion from ``blend_modes``: ``feathered`` (the generator's own blend, the default), ``hard``,
``poisson`` (gradient-domain) or ``additive`` (the lesion in-fill minus the generator's normal-tissue in-fill of the
same region and latent, added to the real tissue, which keeps its texture).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from monai.data import MetaTensor
from monai.transforms import RandomizableTransform
from monai.utils import TransformBackends, convert_to_tensor
from torch import nn

from monai_roigan.data.classes import ABNORMALITY_CLASSES
from monai_roigan.networks.nets.context import check_context_mask
from monai_roigan.networks.sampling import check_latent_distribution, check_truncation, latent_for
from monai_roigan.networks.source import GeneratorSource, as_generator_source
from monai_roigan.transforms.blending import MASK_SHAPES, blend, check_blend_modes, random_soft_mask
from monai_roigan.transforms.labels import ClassLabels
from monai_roigan.transforms.synthetic.array import check_single_roi, mark_real, synthetic_meta

__all__ = ["InsertSyntheticLesion"]


class InsertSyntheticLesion(RandomizableTransform):
    """With probability ``prob``, in-fill the ROI's masked region with a synthetic lesion.

    ``__call__(img, lesion_class=None, mask=None)``: ``img`` (C, S, S) tensor, array or MetaTensor; ``lesion_class``
    a generator class name or index (None: this transform's ``lesion_class``, or one drawn uniformly when that is
    None too); ``mask`` (1, S, S) in [0, 1], 0 where the ROI is kept (None: the generator's centred disc).

    Args:
        generator: a context generator: bundle folder, weights/checkpoint file, module or :class:`GeneratorSource`.
        lesion_class: the class to insert by default (a name of ``generator_classes``), or None to draw one.
        prob: probability of inserting.
        generator_classes: the generator's classes in its label order.
        intensity_range: (low, high) of the pipeline's intensities; the generator works in [-1, 1].
        device: where the generator runs.
        latent_distribution, truncation: as for :class:`~monai_roigan.transforms.SyntheticROIAugment`.
        mask_shape: the region filled when no mask is given: ``"disc"`` (the generator's) or ``"random"`` (a random
            soft blob per insertion, :func:`~monai_roigan.transforms.blending.random_soft_mask`).
        blend_modes: the blend modes one is drawn from per insertion (module docstring).

    Raises (at construction): FileNotFoundError / ValueError for a missing or corrupt file, a noise-to-ROI generator
    (named), another class count, a ``lesion_class`` the generator does not know, an unknown mask shape or blend
    mode.
    """

    backend = [TransformBackends.TORCH, TransformBackends.NUMPY]

    def __init__(
        self,
        generator: str | nn.Module | GeneratorSource,
        lesion_class: str | None = None,
        prob: float = 1.0,
        generator_classes: Sequence[str] = ABNORMALITY_CLASSES,
        intensity_range: tuple[float, float] = (-1.0, 1.0),
        device="cpu",
        latent_distribution: str = "uniform",
        truncation: float = 1.0,
        mask_shape: str = "disc",
        blend_modes: Sequence[str] = ("feathered",),
    ):
        RandomizableTransform.__init__(self, prob)
        if mask_shape not in MASK_SHAPES:
            raise ValueError(f"mask_shape must be one of {MASK_SHAPES}, got {mask_shape!r}")
        self.mask_shape, self.blend_modes = mask_shape, check_blend_modes(blend_modes)
        self.generator_classes = ClassLabels(generator_classes)
        self.source = as_generator_source(generator, len(self.generator_classes.class_names), device, kind="context")
        self.lesion_class = None if lesion_class is None else self.generator_classes.index(lesion_class)
        self.intensity_range = (float(intensity_range[0]), float(intensity_range[1]))
        if not self.intensity_range[1] > self.intensity_range[0]:
            raise ValueError(f"intensity_range must be (low, high) with low < high, got {intensity_range}")
        self.latent_distribution = check_latent_distribution(latent_distribution)
        self.truncation = check_truncation(truncation)

    def _context(self, values: torch.Tensor) -> torch.Tensor:
        """An ROI (C, S, S) in the pipeline's range as the generator's input (1, 1, S, S) in [-1, 1] (float32, CPU),
        after the size and channel checks."""
        size = self.source.output_size
        if tuple(values.shape[1:]) != (size, size):
            raise ValueError(
                f"context ROI of spatial size {tuple(values.shape[1:])}: the generator {self.source.describe()} "
                f"in-fills ({size}, {size}) ROIs; resize the ROI first"
            )
        if values.shape[0] > 1 and not bool((values == values[:1]).all()):
            raise ValueError(
                f"context ROI with {values.shape[0]} different channels: the generator paints one "
                "grey-level channel; give one channel or identical copies"
            )
        low, high = self.intensity_range
        return ((values[:1].detach().float().cpu() - low) / (high - low) * 2 - 1)[None]

    def insert(self, img, class_index: int, seed: int, mask=None, mask_name: str = "mask", mode: str | None = None):
        """``img`` with a lesion of generator class ``class_index`` for ``seed`` in its masked region, blended in
        ``mode`` (None: the first of ``blend_modes``; see the class); ``mask_name`` names the mask in errors."""
        check_single_roi(img)
        base = convert_to_tensor(img, track_meta=False)  # a plain tensor of the input's dtype and device
        context = self._context(base)
        if mask is not None:
            mask = check_context_mask(
                convert_to_tensor(mask, track_meta=False).cpu(), self.source.output_size, mask_name
            )
        network = self.source.get()
        mode = self.blend_modes[0] if mode is None else mode
        z = latent_for(seed, class_index, 0, self.source.latent_dim, self.latent_distribution, self.truncation)
        blended, lesion = self._in_fill(network, z, class_index, context, mask)
        region = (network.mask if mask is None else mask).cpu()[0, 0]  # (S, S)
        low, high = self.intensity_range
        if mode == "feathered":  # the generator's own blend
            painted = blended
        else:
            background = (
                self._in_fill(network, z, network.num_classes, context, mask)[1] if mode == "additive" else None
            )
            painted = blend(base.detach().float().cpu(), lesion, region, mode, background).clamp(low, high)
        if not base.is_floating_point():
            painted = painted.round()  # integer pipelines: the nearest level, not truncation
        out = torch.where(region.to(base.device) > 0, painted.to(base.device, base.dtype), base)
        if not isinstance(img, torch.Tensor):
            return out.numpy().astype(np.asarray(img).dtype, copy=False)  # MONAI holds uint16 as int32
        name = self.generator_classes.class_names[class_index]
        return MetaTensor(out, meta=synthetic_meta(img, name, self.source.describe(), seed, 0))

    def _in_fill(
        self, network, z: torch.Tensor, label: int, context: torch.Tensor, mask
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The generator's blended output and raw in-fill, each (1, S, S) in the pipeline's range, for latent ``z``
        (latent_dim,) and label ``label`` (``network.num_classes``: normal tissue) in ``context``'s masked region."""
        device = next(network.parameters()).device
        with torch.no_grad():
            blended, raw = network(
                z[None].to(device),
                torch.tensor([label], device=device),
                context.to(device),
                None if mask is None else mask.to(device),
                return_raw=True,
            )
        low, high = self.intensity_range
        return tuple(low + (x.float().cpu()[0].clamp(-1, 1) + 1) * 0.5 * (high - low) for x in (blended, raw))

    def randomize_blend(self) -> tuple[torch.Tensor | None, str]:
        """The mask (1, S, S) of a ``"random"`` mask shape (else None: the generator's disc) and the blend mode of one
        insertion, drawn from ``self.R`` (nothing is drawn for a setting that cannot vary)."""
        mask = None
        if self.mask_shape == "random":
            mask = random_soft_mask(self.source.output_size, self.R)[None]
        mode = self.blend_modes[int(self.R.randint(len(self.blend_modes)))] if len(self.blend_modes) > 1 else None
        return mask, mode

    def randomize_class(self, lesion_class=None) -> int:
        """The generator class to insert: ``lesion_class``, else this transform's, else one drawn from ``self.R``."""
        if lesion_class is not None:
            return self.generator_classes.index(lesion_class)
        if self.lesion_class is not None:
            return self.lesion_class
        return int(self.R.randint(len(self.generator_classes.class_names)))

    def __call__(self, img, lesion_class=None, mask=None, randomize: bool = True):
        check_single_roi(img)
        if randomize:
            self.randomize(None)
        if not self._do_transform:
            return mark_real(img)
        class_index = self.randomize_class(lesion_class)
        seed = int(self.R.randint(0, 2**31 - 1))
        drawn, mode = self.randomize_blend()
        return self.insert(img, class_index, seed, drawn if mask is None else mask, mode=mode)
