"""A spectral penalty for the generator: power the fakes hold beyond the real ROIs' at any frequency.

Durall et al. (CVPR 2020, "Watch your up-convolution") showed that up-sampling generators leave excess power at high
frequencies (the checkerboard is its sharpest form) and that a term comparing the generated and the real spectra in
the generator's loss removes it. :class:`SpectralExcessLoss` is a one-sided version on the 2-D spectrum: for each
frequency it takes ``log(P_fake / P_real)``, the log ratio of the batches' mean power (each ROI's mean removed, the
four sign combinations of a frequency folded together, by
:func:`~monai_roigan.utils.spectrum.folded_power_spectrum`, as the realism judge does), and penalises the part above
``log(margin)``. Power the fakes lack is not penalised; power they add beyond the margin is, whether a dot grid
(hundreds of times the real power at the up-sampling grid) or detail the real batch holds less of. The fakes and
the reals of a batch share their labels, so their spectra are comparable.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from monai_roigan.utils.spectrum import folded_power_spectrum

__all__ = ["SpectralExcessLoss"]


class SpectralExcessLoss(nn.Module):
    """``sum_f relu(log P_fake(f) - log P_real(f) - log(margin))`` over every frequency but (0, 0).

    A sum, not a mean: a checkerboard sits at a handful of the (S/2 + 1)^2 folded frequencies, and a mean would
    dilute it a thousandfold.

    Args:
        margin: the ratio of powers allowed before the penalty starts (2: up to twice the real power is free).
        eps: added to both powers before the logarithm (in [-1, 1] units squared).

    ``forward(fake, real)`` takes two batches (B, C, S, S) in [-1, 1] and returns a scalar; the reals get no gradient.
    """

    def __init__(self, margin: float = 2.0, eps: float = 1e-8):
        super().__init__()
        if margin < 1:
            raise ValueError(f"margin must be at least 1 (a ratio of powers), got {margin}")
        self.log_margin, self.eps = math.log(margin), eps

    def forward(self, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        if fake.shape[-2:] != real.shape[-2:] or fake.shape[-1] != fake.shape[-2]:
            raise ValueError(f"need square batches of one size, got {tuple(fake.shape)} and {tuple(real.shape)}")
        excess = torch.log(folded_power_spectrum(fake.float()) + self.eps) - torch.log(
            folded_power_spectrum(real.detach().float()) + self.eps
        )
        excess = torch.relu(excess - self.log_margin)
        return excess.flatten()[1:].sum()
