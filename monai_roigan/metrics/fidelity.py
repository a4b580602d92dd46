"""Class fidelity: the share of generated ROIs of a class that a classifier fitted on real ROIs assigns to it.

The classifier is a :class:`~monai_roigan.networks.nets.ROIClassifier` trained on real ROIs with
:func:`~monai_roigan.engines.train_roi_classifier`.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["class_fidelity"]


@torch.no_grad()
def class_fidelity(classifier: nn.Module, images: torch.Tensor, label: int) -> float:
    """Share (0..1) of ``images`` (N, 1, S, S) in [-1, 1] that ``classifier`` assigns to class ``label``."""
    device = next(classifier.parameters()).device
    return float((classifier(images.to(device)).argmax(1) == label).float().mean())
