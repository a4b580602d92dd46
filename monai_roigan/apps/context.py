"""The context bank of a lesion in-filling generator (``bundle/configs/context.json``).

A :class:`~monai_roigan.networks.nets.ContextROIGenerator` in-fills the ROIs it is given. To make ROIs from noise
alone (every caller of ``network(z, labels)``: sample grids, the quality score, generation to files,
``SyntheticROIAugment``, evaluation) it stores a bank of normal-tissue ROIs in its weights and takes one per
latent. :func:`context_bank` picks them, seeded, from the normal-tissue ROIs of the training women (the items of
:func:`~monai_roigan.apps.tissue_datalist`, label K), so no held-out woman's tissue enters the model.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from monai_roigan.utils.errors import ConfigurationError

__all__ = ["context_bank"]


def context_bank(items: Sequence[dict], num_lesion_classes: int, bank_size: int, seed: int = 0) -> torch.Tensor:
    """(N, 1, S, S) float32 in [-1, 1]: ``bank_size`` normal-tissue ROIs (label ``num_lesion_classes``) of ``items``,
    drawn without replacement with ``seed`` (all of them, N < bank_size, when there are fewer).

    Raises:
        ConfigurationError: ``bank_size`` < 1 or no normal-tissue ROI among ``items``.
    """
    if int(bank_size) < 1:
        raise ConfigurationError(f"context_bank_size must be at least 1, got {bank_size}")
    tissue = [i["image"] for i in items if int(i["label"]) == int(num_lesion_classes)]
    if not tissue:
        raise ConfigurationError(
            "no normal-tissue ROIs for the context bank; prepare the ROIs with normal_per_image > 0"
        )
    rng = np.random.default_rng(int(seed))
    chosen = np.sort(rng.choice(len(tissue), size=min(int(bank_size), len(tissue)), replace=False))
    return torch.stack([torch.as_tensor(np.asarray(tissue[k]), dtype=torch.float32) for k in chosen])
