"""Memorization check: are synthetic ROIs closer to the training ROIs than genuinely new real ROIs are?

For every synthetic ROI, the distance to its nearest training ROI (mean squared error in [0, 1] units, over
every training ROI, dihedral copies included) is compared with the same distance for held-out real ROIs,
which the generator never saw. A generator that learned the distribution puts synthetic ROIs about as close
to the training set as new real ROIs are; one that memorized puts them closer.

:func:`memorization_check` reports:

- ``copies``: indices of synthetic ROIs within ``copy_mse`` of a training ROI (default 1e-4, an RMS
  difference of 1% of the intensity range): near-copies, listed for inspection;
- ``closer_than_heldout``: the share of synthetic ROIs closer to the training set than the ``quantile``
  (default 5%) of held-out distances. About ``quantile`` is expected for a generator that does not copy, and
  much more indicates memorization;
- the median nearest-neighbour distance of each group and their ratio (synthetic / held-out; below 1 means
  closer than new data).
"""

from __future__ import annotations

import numpy as np

from monai_roigan.metrics.reference import _unit, nearest_indices

__all__ = ["memorization_check"]


def memorization_check(synthetic, train, held_out, quantile: float = 0.05, copy_mse: float = 1e-4) -> dict:
    """Nearest-training-ROI distances of ``synthetic`` versus ``held_out`` ROIs (all (N, 1, H, W) in [-1, 1])."""
    reference = _unit(train)
    synthetic_d = nearest_indices(_unit(synthetic), reference)[1]
    held_out_d = nearest_indices(_unit(held_out), reference)[1]
    threshold = float(np.quantile(held_out_d, quantile))
    return {
        "copies": [int(i) for i in np.flatnonzero(synthetic_d <= copy_mse)],
        "closer_than_heldout": float((synthetic_d < threshold).mean()),
        "expected_share": quantile,
        "heldout_threshold_mse": threshold,
        "median_synthetic_mse": float(np.median(synthetic_d)),
        "median_heldout_mse": float(np.median(held_out_d)),
        "median_ratio": float(np.median(synthetic_d) / max(np.median(held_out_d), 1e-12)),
    }
