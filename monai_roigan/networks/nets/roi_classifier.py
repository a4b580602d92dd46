"""``ROIClassifier``: a small CNN that classifies ROIs; the judge of class fidelity and the downstream classifier."""

from __future__ import annotations

from torch import nn

__all__ = ["ROIClassifier"]


class ROIClassifier(nn.Sequential):
    """(B, C, S, S) ROIs in [-1, 1] -> (B, num_classes) logits; S = ``input_size`` (a multiple of 16, default 64),
    C = ``in_channels`` (default 1: the ROI; e.g. 2 for the ROI and its residual from
    :class:`~monai_roigan.transforms.NormalCounterpart`).

    Four 3x3 convolution blocks (batch norm, ReLU, 2x2 max pooling) with 16/32/64/64 filters, dropout 0.3 and a
    linear head. Train it with :func:`monai_roigan.engines.train_roi_classifier`.

    Raises:
        ValueError: ``in_channels`` below 1, or ``input_size`` not a positive multiple of 16.
    """

    def __init__(self, num_classes: int, input_size: int = 64, in_channels: int = 1):
        def block(c_in: int, c_out: int) -> nn.Sequential:
            return nn.Sequential(
                nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(), nn.MaxPool2d(2)
            )

        if int(in_channels) < 1:
            raise ValueError(f"in_channels must be 1 or more, got {in_channels}")
        if input_size < 16 or input_size % 16:
            raise ValueError(f"input_size must be a positive multiple of 16, got {input_size}")
        side = input_size // 16
        super().__init__(
            block(int(in_channels), 16),
            block(16, 32),
            block(32, 64),
            block(64, 64),
            nn.Flatten(),
            nn.Dropout(0.3),
            nn.Linear(64 * side * side, num_classes),
        )
