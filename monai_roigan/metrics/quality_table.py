"""The two tables of an evaluation: quality per image, and distances between sets.

- :func:`per_image_quality`: one row per image with the paper's per-image columns. The reference-based
  ones (MSE, PSNR, SSIM, DSSIM, FSIM) compare the image with a real ROI of its class chosen by ``pairing``
  (:func:`~monai_roigan.metrics.reference_metrics`). The no-reference ones are PIQE, the domain NIQE and
  BRISQUE; BRISQUE is NaN when no model file was given, since there is no honest default.
- :func:`compare_sets`: FID, KID, precision and recall and the geometry score of a candidate set against a
  reference set, in a feature space (``encode``); the candidate's MS-SSIM diversity and its class fidelity
  under a classifier trained on real ROIs. A value is NaN when the sets are too small for it (an empty set;
  FID, KID and precision/recall need ``min_points`` ROIs per set, 10 by default; MS-SSIM 2; the geometry
  score ``gs_min_points``, 32 by default).

Images are (N, 1, S, S) in [-1, 1] throughout.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from monai_roigan.metrics.brisque import BRISQUEModel, brisque_scores
from monai_roigan.metrics.distribution import frechet_distance, kernel_distance, precision_recall
from monai_roigan.metrics.diversity import mean_pairwise_msssim
from monai_roigan.metrics.geometry import geometry_score
from monai_roigan.metrics.niqe import NIQEModel, niqe
from monai_roigan.metrics.piqe import piqe_scores
from monai_roigan.metrics.reference import reference_metrics

__all__ = ["PER_IMAGE_COLUMNS", "SET_COLUMNS", "per_image_quality", "compare_sets"]

#: the paper's per-image columns (Tables 6-9), MSE in [0, 1] units
PER_IMAGE_COLUMNS = ("psnr", "ssim", "dssim", "mse", "fsim", "brisque", "piqe", "niqe")
#: set-level columns of :func:`compare_sets`
SET_COLUMNS = ("fid", "kid", "precision", "recall", "geometry_score", "msssim", "fidelity")


def per_image_quality(
    images,
    labels: Sequence[int],
    reference,
    reference_labels: Sequence[int],
    niqe_model: NIQEModel,
    brisque_model: BRISQUEModel | None = None,
    pairing: str = "nearest",
    seed: int = 0,
) -> list[dict]:
    """One row per image: ``index``, ``label``, ``reference`` (index into ``reference``) and
    :data:`PER_IMAGE_COLUMNS`."""
    rows = reference_metrics(images, labels, reference, reference_labels, pairing=pairing, seed=seed)
    piqe_values, niqe_values = piqe_scores(images), niqe(images, niqe_model)
    brisque_values = brisque_scores(images, brisque_model) if brisque_model is not None else np.full(len(rows), np.nan)
    for row in rows:
        i = row["index"]
        row.update(piqe=float(piqe_values[i]), niqe=float(niqe_values[i]), brisque=float(brisque_values[i]))
    return rows


def _or_nan(enough: bool, compute: Callable[[], float]) -> float:
    return float(compute()) if enough else float("nan")


@torch.no_grad()
def _fidelity(classifier: torch.nn.Module, images: np.ndarray, labels: np.ndarray) -> float:
    predicted = classifier(torch.as_tensor(images, dtype=torch.float32)).argmax(1).numpy()
    return float(np.mean(predicted == labels))


def compare_sets(
    candidate: np.ndarray,
    candidate_labels: np.ndarray,
    reference: np.ndarray,
    encode: Callable[[np.ndarray], np.ndarray],
    classifier: torch.nn.Module,
    gs_repeats: int = 50,
    seed: int = 0,
    gs_min_points: int = 32,
    min_points: int = 10,
) -> dict[str, float]:
    """:data:`SET_COLUMNS` (plus ``kid_std``, ``n_candidate``, ``n_reference``) of ``candidate`` against ``reference``.

    Args:
        candidate, reference: (N, 1, S, S) and (M, 1, S, S) images in [-1, 1].
        candidate_labels: class index per candidate image, for the class fidelity.
        encode: images -> (N, D) features (the domain encoder or a user-supplied one).
        classifier: a ROI classifier trained on real ROIs (eval mode), for the class fidelity.
        gs_repeats: landmark draws of the geometry score.
        min_points: FID, KID and precision/recall are NaN below this many ROIs per set (a handful of 64-D
            feature vectors gives numbers that look exact and mean little).
        gs_min_points: the geometry score needs loops among the points; below this many points per set it is
            NaN (a dozen points rarely form a loop, and the score is then 0 for any two sets).
        seed: seed of KID subsets, geometry-score landmarks and MS-SSIM pairs.
    """
    if len(candidate) == 0 or len(reference) == 0:
        return {
            **dict.fromkeys((*SET_COLUMNS, "kid_std"), float("nan")),
            "n_candidate": len(candidate),
            "n_reference": len(reference),
        }
    a, b = encode(candidate), encode(reference)
    both = min(len(a), len(b))
    enough = both >= max(2, min_points)
    p_r = precision_recall(b, a) if enough else (float("nan"), float("nan"))
    kid = kernel_distance(b, a, seed=seed) if enough else (float("nan"), float("nan"))
    return {
        "fid": _or_nan(enough, lambda: frechet_distance(b, a)),
        "kid": kid[0],
        "kid_std": kid[1],
        "precision": p_r[0],
        "recall": p_r[1],
        "geometry_score": _or_nan(
            both >= max(3, gs_min_points), lambda: geometry_score(b, a, repeats=gs_repeats, seed=seed)
        ),
        "msssim": _or_nan(len(candidate) >= 2, lambda: mean_pairwise_msssim(torch.as_tensor(candidate), seed=seed)),
        "fidelity": _fidelity(classifier, candidate, np.asarray(candidate_labels)),
        "n_candidate": len(candidate),
        "n_reference": len(reference),
    }
