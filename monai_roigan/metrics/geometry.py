"""Geometry score (Khrulkov and Oseledets 2018): do two point clouds have the same topology?

The score compares the one-dimensional holes ("loops") of two sets of points, e.g. real and synthetic ROI
features. The computation, written from the paper with ``gudhi``'s witness complexes:

1. Pick ``landmarks`` random points of the set (seeded). The whole set serves as witnesses. Build the
   Euclidean strong witness complex up to the filtration value ``alpha_max``, which is ``gamma`` times the
   largest squared distance between two landmarks (gudhi's filtration is in squared-distance units;
   ``gamma`` defaults to the paper's 1/128).
2. From the persistence intervals of dimension 1, let ``beta1(a)`` be the number of intervals alive at
   ``a`` in ``[0, alpha_max]``. The relative living time ``RLT(i)`` is the share of ``[0, alpha_max]``
   where ``beta1 = i``, for ``i < i_max``.
3. Average the RLT vectors over ``repeats`` landmark draws (the MRLT).

``geometry_score(a, b) = sum_i (MRLT_a(i) - MRLT_b(i))^2``. It is 0 for sets of the same topology and grows
as their loop structure differs. It is defined for *sets* of points. A per-image score is meaningless, which
is why the paper reports 0.00 for every image. The same seed gives the same score.
"""

from __future__ import annotations

import gudhi
import numpy as np

__all__ = ["relative_living_times", "geometry_score"]


def _rlt_once(points: np.ndarray, landmarks: int, gamma: float, i_max: int, rng: np.random.Generator) -> np.ndarray:
    chosen = points[rng.choice(len(points), min(landmarks, len(points)), replace=False)]
    squared = ((chosen[:, None, :] - chosen[None, :, :]) ** 2).sum(-1)
    alpha_max = gamma * float(squared.max())
    complex_ = gudhi.EuclideanStrongWitnessComplex(landmarks=chosen, witnesses=points)
    tree = complex_.create_simplex_tree(max_alpha_square=alpha_max, limit_dimension=2)
    tree.persistence()
    intervals = np.clip(np.asarray(tree.persistence_intervals_in_dimension(1)).reshape(-1, 2), 0.0, alpha_max)
    cuts = np.unique(np.concatenate([[0.0, alpha_max], intervals.ravel()]))
    rlt = np.zeros(i_max)
    for start, end in zip(cuts[:-1], cuts[1:]):
        alive = int(((intervals[:, 0] <= start) & (intervals[:, 1] >= end)).sum())
        if alive < i_max:
            rlt[alive] += (end - start) / alpha_max
    return rlt


def relative_living_times(
    points, landmarks: int = 64, gamma: float = 1 / 128, i_max: int = 100, repeats: int = 100, seed: int = 0
) -> np.ndarray:
    """The mean relative living times (i_max,) of the loops of ``points`` (N, D) (see the module docstring)."""
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or len(points) < 3:
        raise ValueError(f"expected a point cloud of shape (N >= 3, D), got {points.shape}")
    rng = np.random.default_rng(seed)
    return np.mean([_rlt_once(points, landmarks, gamma, i_max, rng) for _ in range(repeats)], axis=0)


def geometry_score(
    a, b, landmarks: int = 64, gamma: float = 1 / 128, i_max: int = 100, repeats: int = 100, seed: int = 0
) -> float:
    """Sum of squared differences of the two sets' mean relative living times (0: the same topology)."""
    options = dict(landmarks=landmarks, gamma=gamma, i_max=i_max, repeats=repeats, seed=seed)
    return float(((relative_living_times(a, **options) - relative_living_times(b, **options)) ** 2).sum())
