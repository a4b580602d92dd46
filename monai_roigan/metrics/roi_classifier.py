"""A small ROI classifier trained on real ROIs: the judge of class fidelity (does a "mass" look like a mass?).

:func:`train_roi_classifier` fits :class:`ROIClassifier` (four 3x3 convolution blocks with batch norm, ReLU
and max pooling, 16/32/64/64 filters, dropout 0.3, a linear head) with Adam on (N, 1, 64, 64) ROIs in
[-1, 1]. It runs inside :func:`torch.random.fork_rng`, so it neither depends on nor disturbs the global
random state of a training run. :func:`class_fidelity` is the share of generated ROIs of one class that the
classifier assigns to that class.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["ROIClassifier", "train_roi_classifier", "class_fidelity"]


class ROIClassifier(nn.Sequential):
    """(B, 1, 64, 64) ROIs in [-1, 1] -> (B, num_classes) logits."""

    def __init__(self, num_classes: int, input_size: int = 64):
        def block(c_in: int, c_out: int) -> nn.Sequential:
            return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(), nn.MaxPool2d(2))

        side = input_size // 16
        super().__init__(block(1, 16), block(16, 32), block(32, 64), block(64, 64), nn.Flatten(), nn.Dropout(0.3),
                         nn.Linear(64 * side * side, num_classes))  # fmt: skip


def train_roi_classifier(
    images: torch.Tensor, labels: torch.Tensor, epochs: int = 30, batch_size: int = 32, lr: float = 1e-3, seed: int = 0
) -> ROIClassifier:
    """Fit a :class:`ROIClassifier` on ``images`` (N, 1, S, S) in [-1, 1] and ``labels`` (N,) 0..K-1; eval mode.

    Deterministic for a given ``seed``; the caller's global random state is left as it was.
    """
    if len(images) != len(labels) or len(images) == 0:
        raise ValueError(f"need as many labels as images (and at least one), got {len(images)} and {len(labels)}")
    images, labels = images.float().cpu(), labels.long().cpu()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = ROIClassifier(int(labels.max()) + 1, images.shape[-1])
        opt = torch.optim.Adam(net.parameters(), lr)
        for _ in range(epochs):
            for idx in torch.randperm(len(images)).split(batch_size):
                if len(idx) < 2:  # batch norm needs two samples
                    continue
                loss = nn.functional.cross_entropy(net(images[idx]), labels[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
    return net.eval()


@torch.no_grad()
def class_fidelity(classifier: nn.Module, images: torch.Tensor, label: int) -> float:
    """Share (0..1) of ``images`` (N, 1, S, S) that ``classifier`` assigns to class ``label``."""
    device = next(classifier.parameters()).device
    return float((classifier(images.to(device)).argmax(1) == label).float().mean())
