"""The grouped settings of :class:`~monai_roigan.engines.ROIGanTrainer`: small frozen dataclasses, each validated
on construction.

- :class:`GanLosses`: the adversarial loss and the terms and regularisers added to it;
- :class:`GeneratorInput`: what the generator is fed (the latent and whether labels reach the networks);
- :class:`Precision`: numerics and memory layout of the forward passes.

A check that involves two of them (``aux_weight > 0`` needs ``conditional``) stays in the trainer.
"""

from __future__ import annotations

from dataclasses import dataclass

from monai_roigan.engines.regularizers import DiffAugment
from monai_roigan.losses.adversarial import AdversarialLoss
from monai_roigan.networks.sampling import check_latent_distribution

__all__ = ["AMP_DTYPES", "GanLosses", "GeneratorInput", "Precision"]

#: the autocast dtypes :class:`Precision` accepts
AMP_DTYPES = ("bfloat16", "float16")


@dataclass(frozen=True)
class GanLosses:
    """The loss settings of one GAN training.

    Args:
        adversarial_loss: :class:`~monai_roigan.losses.AdversarialLoss` (None: the paper's BCE, built by the
            trainer).
        diffaugment: a :class:`~monai_roigan.engines.DiffAugment`, or None (no augmentation).
        r1_gamma, r1_interval: R1 penalty weight (0 disables) and how often it is applied, in iterations (lazy R1;
            values below 1 count as 1).
        aux_weight: weight of the auxiliary classification losses (needs a discriminator built with
            ``aux_classifier=True`` and ``GeneratorInput(conditional=True)``; 0 disables).
        mode_seeking_weight: weight of the mode-seeking term (0 disables).
        spectral_weight: weight of :class:`~monai_roigan.losses.SpectralExcessLoss` in the generator's loss, the
            fakes' power above twice the real batch's at any frequency (0 disables).

    The trainer gives ``adversarial_loss`` and ``diffaugment`` its random stream (their ``rng``): objects shared
    by two trainers draw from the one built last.
    """

    adversarial_loss: AdversarialLoss | None = None
    diffaugment: DiffAugment | None = None
    r1_gamma: float = 0.0
    r1_interval: int = 4
    aux_weight: float = 0.0
    mode_seeking_weight: float = 0.0
    spectral_weight: float = 0.0


@dataclass(frozen=True)
class GeneratorInput:
    """What the generator is fed.

    Args:
        latent_dim: size of z (paper: 100).
        latent_distribution: ``"uniform"`` (paper, U(-1, 1)) or ``"normal"`` (N(0, 1)).
        conditional: pass labels to the networks (False for one unconditional model per class).
    """

    latent_dim: int = 100
    latent_distribution: str = "uniform"
    conditional: bool = True

    def __post_init__(self):
        check_latent_distribution(self.latent_distribution)


@dataclass(frozen=True)
class Precision:
    """Numerics and memory layout of training.

    Args:
        amp, amp_dtype: mixed precision on or off, and ``"bfloat16"`` or ``"float16"`` (the latter with a
            gradient scaler per network).
        channels_last: run both networks (and the EMA copy) and the real batches in channels-last memory:
            faster on the CPU for the default preset (measured in docs/results.md); results agree with the
            default layout to float32 rounding, so runs are not bit-identical across the two settings.
    """

    amp: bool = False
    amp_dtype: str = "bfloat16"
    channels_last: bool = False

    def __post_init__(self):
        if self.amp_dtype not in AMP_DTYPES:
            raise ValueError(f"amp_dtype must be 'bfloat16' or 'float16', got {self.amp_dtype!r}")
