"""``per_class`` mode: one unconditional model per abnormality behind the conditional interface.

The paper trains one DCGAN per abnormality ("staged class-based learning"). :class:`PerClassGenerator` and
:class:`PerClassDiscriminator` hold ``num_classes`` independent unconditional networks and send each sample
of a batch to the network of its class, so the trainer, the checkpoints, the sample grids, inference and
``SyntheticROIAugment`` treat a per-class model exactly like the conditional one (``forward(x, labels)``).

Training the pair on mixed batches is training K separate GANs at once: no parameter is shared, each
class's networks see only that class's samples (batch-norm statistics included) and each class's losses
only reach its own networks. What differs from K sequential runs is the batch: a class's networks see its
share of each batch (about ``batch_size / K`` samples) at every step instead of full batches of their own.
"""

from __future__ import annotations

import torch
from torch import nn

from monai_roigan.networks.nets.roigan import ROIDiscriminator, ROIGenerator

__all__ = ["ClassDispatch", "PerClassGenerator", "PerClassDiscriminator"]


class ClassDispatch(nn.Module):
    """Apply ``models[k]`` to the samples of class ``k``; results come back in the batch's order.

    Args:
        models: one module per class, each taking a (N, ...) tensor and returning a (N, ...) tensor.
    """

    def __init__(self, models: list[nn.Module]):
        super().__init__()
        if not models:
            raise ValueError("ClassDispatch needs at least one model")
        self.models = nn.ModuleList(models)
        self.num_classes = len(models)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if labels is None:
            raise ValueError("a per-class model needs class labels")
        labels = labels.long().view(-1)
        if labels.numel() > 0:
            low, high = int(labels.min()), int(labels.max())
            if low < 0 or high >= self.num_classes:
                raise ValueError(f"labels must lie in [0, {self.num_classes - 1}], got labels from {low} to {high}")
        parts: list[torch.Tensor] = []
        indices: list[torch.Tensor] = []
        for k, model in enumerate(self.models):
            index = (labels == k).nonzero().view(-1)
            if index.numel() > 0:
                parts.append(model(x[index]))
                indices.append(index)
        order = torch.argsort(torch.cat(indices))
        return torch.cat(parts)[order]


class PerClassGenerator(ClassDispatch):
    """``num_classes`` unconditional :class:`ROIGenerator` s; (B, latent_dim), (B,) -> (B, 1, S, S) in [-1, 1].

    Args:
        num_classes: number of classes (one generator each).
        latent_dim, width, output_size, kernel_size, upsample: as for :class:`ROIGenerator`.
    """

    def __init__(
        self,
        num_classes: int = 4,
        latent_dim: int = 100,
        width: float = 1.0,
        output_size: int = 64,
        kernel_size: int = 5,
        upsample: str = "transposed",
    ):
        nets = [
            ROIGenerator(latent_dim, 0, width, output_size, kernel_size=kernel_size, upsample=upsample)
            for _ in range(num_classes)
        ]
        super().__init__(nets)
        self.latent_dim, self.output_size, self.upsample_mode = latent_dim, output_size, upsample


class PerClassDiscriminator(ClassDispatch):
    """``num_classes`` unconditional :class:`ROIDiscriminator` s; (B, 1, S, S), (B,) -> logits (B,).

    Args:
        num_classes: number of classes (one discriminator each).
        discriminator_args: keyword arguments of :class:`ROIDiscriminator` (``width``, ``input_size``,
            ``dropout``, ``kernel_size``, ``norm``) shared by all of them.
    """

    def __init__(self, num_classes: int = 4, **discriminator_args):
        super().__init__([ROIDiscriminator(num_classes=0, **discriminator_args) for _ in range(num_classes)])
        self.input_size = self.models[0].input_size
