"""The real-vs-synthetic critic: a classifier that tells real ROIs from synthetic ones, and the one way to fit one.

Three things use it: the realism judge's C2ST (:func:`monai_roigan.evaluation.c2st_aucs`), the realism score of a
generator during training (:class:`~monai_roigan.handlers.GeneratorRealism`, which can pick the best checkpoint),
and the realism sample filter (:class:`~monai_roigan.apps.RealismFilter`).

- :func:`fit_realism_critic` fits a two-output :class:`~monai_roigan.networks.nets.ROIClassifier` (output 0: real,
  output 1: synthetic) with :func:`~monai_roigan.engines.train_roi_classifier`. Without ``real_weights`` every ROI is
  drawn once per pass (give both sides as many ROIs); with them, each side is drawn half of the time and the real
  side's draws are shared out in proportion to ``real_weights`` (e.g. half lesion ROIs, half normal tissue).
- :func:`real_probability`: the critic's probability that each ROI is real.
- :func:`realism_score`: the critic's mean cross-entropy on ROIs it did not learn from, both sides weighted
  equally, in units of ln 2. About 1 when it cannot tell the sides apart (it says 1/2 to everything); towards 0 as
  it tells them apart with confidence; above 1 when what it learned does not hold on new ROIs. An AUC reaches 1 as
  soon as the two sides are separable, and then ranks nothing; the score keeps falling as the separation gets
  easier, so it is meant to rank generators that a C2ST calls equally fake. When every critic separates the sides
  with certainty, the spread between critic fits can swamp the differences between generators (the results log
  has such a case).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from monai_roigan.engines.classifier import check_sampling_weights, roi_items, train_roi_classifier

__all__ = [
    "REAL",
    "SYNTHETIC",
    "fit_realism_critic",
    "lesion_weights",
    "real_log_odds",
    "real_probability",
    "realism_score",
]

#: the critic's output (and training label) for real ROIs
REAL = 0
#: the critic's output (and training label) for synthetic ROIs
SYNTHETIC = 1


def _rois(images, name: str) -> torch.Tensor:
    images = torch.as_tensor(images).float()
    if images.ndim != 4 or images.shape[1] != 1 or images.shape[-1] != images.shape[-2] or len(images) == 0:
        raise ValueError(f"{name} must be ROIs (N >= 1, 1, S, S), got shape {tuple(images.shape)}")
    return images


def _shares(weights, count: int, name: str) -> torch.Tensor:
    weights = check_sampling_weights(weights, count, name)
    return weights / weights.sum()


def fit_realism_critic(
    real,
    synthetic,
    steps: int = 300,
    seed: int = 0,
    real_weights=None,
    batch_size: int = 32,
) -> nn.Module:
    """A critic fitted for ``steps`` batches on ``real`` (label :data:`REAL`) against ``synthetic`` (:data:`SYNTHETIC`).

    Args:
        real, synthetic: ROIs (N, 1, S, S) and (M, 1, S, S) in [-1, 1], S a multiple of 16.
        steps: batches of ``batch_size`` ROIs.
        seed: the only randomness (weights, draws); the global random states are left untouched.
        real_weights: (N,) non-negative weights of the real ROIs, or None (module docstring).

    Raises:
        ValueError: an empty side, ROIs that are not (N, 1, S, S) or of two sizes, or ``real_weights`` of another
            length than ``real``.
    """
    real, synthetic = _rois(real, "real"), _rois(synthetic, "synthetic")
    if real.shape[1:] != synthetic.shape[1:]:
        raise ValueError(f"real ROIs {tuple(real.shape[1:])} and synthetic ROIs {tuple(synthetic.shape[1:])} differ")
    labels = torch.cat([torch.full((len(real),), REAL), torch.full((len(synthetic),), SYNTHETIC)])
    weights = None
    if real_weights is not None:
        weights = torch.cat([_shares(real_weights, len(real), "real_weights"), torch.full((len(synthetic),), 1.0)])
        weights[len(real) :] /= len(synthetic)
    return train_roi_classifier(
        roi_items(torch.cat([real, synthetic]), labels),
        2,
        steps=steps,
        seed=seed,
        batch_size=batch_size,
        channels_last=True,
        input_size=real.shape[-1],
        weights=weights,
    )


def lesion_weights(labels, num_classes: int, lesion_share: float) -> torch.Tensor:
    """(N,) weights of real ROIs with ``labels`` (0..K-1 lesions, K normal tissue): the lesions share
    ``lesion_share`` of the total equally, the normal ROIs the rest (all of it to one kind when the other is absent).

    Raises:
        ValueError: ``lesion_share`` outside [0, 1].
    """
    if not 0.0 <= float(lesion_share) <= 1.0:
        raise ValueError(f"lesion_share must lie in [0, 1], got {lesion_share}")
    lesion = torch.as_tensor(np.asarray(labels)) < num_classes
    count, normal = int(lesion.sum()), int((~lesion).sum())
    share = float(lesion_share) if count and normal else float(count > 0)
    weights = torch.zeros(len(lesion), dtype=torch.double)
    if count:
        weights[lesion] = share / count
    if normal:
        weights[~lesion] = (1 - share) / normal
    return weights


@torch.no_grad()
def real_log_odds(critic: nn.Module, images, batch_size: int = 512) -> torch.Tensor:
    """(N,) the critic's log-odds that each ROI of ``images`` (N, 1, S, S) in [-1, 1] is real (its real logit minus
    its synthetic logit): finite where a probability would round to 0 or 1."""
    images = _rois(images, "images")
    critic = critic.eval()
    chunks = [critic(chunk).float() for chunk in images.split(batch_size)]
    logits = torch.cat(chunks)
    return logits[:, REAL] - logits[:, SYNTHETIC]


def real_probability(critic: nn.Module, images, batch_size: int = 512) -> torch.Tensor:
    """(N,) the critic's probability in [0, 1] that each ROI of ``images`` (N, 1, S, S) in [-1, 1] is real."""
    return torch.sigmoid(real_log_odds(critic, images, batch_size))


def realism_score(critic: nn.Module, real, synthetic, real_weights=None) -> float:
    """The critic's mean cross-entropy on ``real`` and ``synthetic`` ROIs it did not learn from, each side weighted
    one half, divided by ln 2 (module docstring: about 1 at chance, towards 0 as the critic tells them apart).

    Args:
        real, synthetic: ROIs (N, 1, S, S) and (M, 1, S, S) in [-1, 1].
        real_weights: (N,) weights of the real ROIs in their side's mean (None: equal).
    """
    odds_real = real_log_odds(critic, real).double()
    odds_fake = real_log_odds(critic, synthetic).double()
    if real_weights is None:
        shares = torch.full_like(odds_real, 1 / len(odds_real))
    else:
        shares = _shares(real_weights, len(odds_real), "real_weights")
    real_loss = float(-(shares * torch.nn.functional.logsigmoid(odds_real)).sum())
    fake_loss = float(-torch.nn.functional.logsigmoid(-odds_fake).mean())
    loss = 0.5 * real_loss + 0.5 * fake_loss
    return loss / math.log(2)
