"""Adversarial losses (BCE with the paper's label tricks, LSGAN, hinge)."""

from .adversarial import LOSS_TYPES, AdversarialLoss

__all__ = ["AdversarialLoss", "LOSS_TYPES"]
