"""Adversarial losses (BCE with the paper's label tricks, LSGAN, hinge) and the generator's spectral penalty."""

from .adversarial import LOSS_TYPES, AdversarialLoss
from .spectral import SpectralExcessLoss

__all__ = ["AdversarialLoss", "LOSS_TYPES", "SpectralExcessLoss"]
