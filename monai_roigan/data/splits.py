"""Splits by patient: ROIs of one woman are never on both sides of a split.

An ROI cache records each ROI's patient in ``groups`` (:func:`~monai_roigan.apps.prepare.patient_group`: the
woman of an MIAS pair ``mdbN``/``mdbN+1``, a CBIS-DDSM ``patient_id``, a DICOM datalist's hashed
``patient_key``; the mammogram only where no patient is known). Dihedral copies share their original's group, so
splitting groups rather than ROIs keeps copies, neighbouring lesions of one image and the two breasts of one
woman together. Both splits are stratified by class: the rarest class is dealt first, so every class with at
least two patients (``holdout_groups``) or ``k`` patients (``group_kfold``) is represented on both sides.

- :func:`holdout_groups`: the patients held out from GAN training (evaluation uses them as unseen real data).
  The bundle's evaluation overlays read ``holdout_fraction`` and ``split_seed`` from ``train.json``, so they
  agree on the split.
- :func:`group_kfold`: a fold index per ROI for k-fold cross-validation by patient.
- :func:`held_out_normal_groups`: the women without a lesion to hold out with them, so that normal-tissue ROIs
  (evaluation negatives, tissue pretraining) follow the same split.

Both are deterministic for a seed and independent of the order of the input. (The functions speak of
"mammograms" below: any group id works.)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["holdout_groups", "held_out_normal_groups", "split_by_groups", "split_datalist", "group_kfold"]


def _groups_per_class(groups: np.ndarray, labels: np.ndarray) -> list[tuple[int, list[str]]]:
    """(class, sorted mammogram ids) of each class present, rarest class (fewest mammograms) first."""
    if len(groups) != len(labels):
        raise ValueError(f"need one label per group entry, got {len(groups)} groups and {len(labels)} labels")
    per_class = [(int(label), sorted(set(groups[labels == label].tolist()))) for label in np.unique(labels)]
    return sorted(per_class, key=lambda entry: (len(entry[1]), entry[1]))


def holdout_groups(groups: Sequence[str], labels: Sequence[int], fraction: float, seed: int = 0) -> set[str]:
    """Mammogram ids to hold out: about ``fraction`` of each class's mammograms (at least one of a class with two
    or more, and never all of them).

    Args:
        groups: source mammogram id per ROI.
        labels: class index per ROI.
        fraction: in [0, 1); 0 holds nothing out.
        seed: seed of the draw.
    """
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"holdout fraction must be in [0, 1), got {fraction}")
    held: set[str] = set()
    if fraction == 0.0:
        return held
    rng = np.random.default_rng(seed)
    done: list[list[str]] = []  # mammograms of the classes dealt so far
    for _, names in _groups_per_class(np.asarray(groups).astype(str), np.asarray(labels)):
        if len(names) >= 2:
            wanted = min(len(names) - 1, max(1, round(fraction * len(names))))
            for name in rng.permutation([n for n in names if n not in held]).tolist():
                if sum(n in held for n in names) >= wanted:
                    break
                if not _would_empty(name, held, done):  # a mammogram with two classes must not take an earlier
                    held.add(name)  # class's last kept mammogram
        done.append(names)
    return held


def held_out_normal_groups(
    normal_groups: Sequence[str],
    train_groups: Sequence[str],
    held_groups: Sequence[str],
    fraction: float,
    seed: int = 0,
) -> set[str]:
    """The women of ``normal_groups`` (women with normal-tissue ROIs) on the held-out side of a split.

    A woman who also has a lesion follows her lesion's side (``train_groups`` / ``held_groups``), so the lesion
    split the generator trained with stays exactly as it was; of the others, ``round(fraction * n)`` (a seeded
    draw) are held out.
    """
    sides = {**dict.fromkeys(map(str, train_groups), False), **dict.fromkeys(map(str, held_groups), True)}
    unseen = np.array(sorted(set(map(str, normal_groups)) - set(sides)))
    chosen = (
        np.random.default_rng(seed).permutation(unseen)[: int(round(fraction * len(unseen)))] if len(unseen) else unseen
    )
    return {g for g, held in sides.items() if held} | set(chosen.tolist())


def _would_empty(name: str, held: set[str], classes: list[list[str]]) -> bool:
    """Whether holding out ``name`` too leaves one of ``classes`` (mammogram lists) without a kept mammogram."""
    return any(name in names and all(n in held or n == name for n in names) for names in classes)


def split_by_groups(items: Sequence[dict], held_out: set[str]) -> tuple[list[dict], list[dict]]:
    """(items whose ``group`` is not held out, items whose ``group`` is)."""
    keep = [i for i in items if str(i["group"]) not in held_out]
    return keep, [i for i in items if str(i["group"]) in held_out]


def split_datalist(items: Sequence[dict], fraction: float, seed: int = 0) -> tuple[list[dict], list[dict]]:
    """(training items, held-out items) of a datalist with ``group`` and ``label`` per item (:func:`holdout_groups`)."""
    held = holdout_groups([i["group"] for i in items], [i["label"] for i in items], fraction, seed)
    return split_by_groups(items, held)


def group_kfold(groups: Sequence[str], labels: Sequence[int], k: int, seed: int = 0) -> np.ndarray:
    """Fold index (0..k-1) per ROI; one mammogram's ROIs share a fold, classes are spread over the folds.

    Each class (rarest first) deals its not yet assigned mammograms, shuffled, to the fold that has the fewest
    ROIs of that class so far (ties: fewest ROIs in all).
    """
    if k < 2:
        raise ValueError(f"k-fold needs k >= 2, got {k}")
    groups, labels = np.asarray(groups).astype(str), np.asarray(labels)
    if len(set(groups.tolist())) < k:
        raise ValueError(f"{k}-fold split needs at least {k} mammograms, got {len(set(groups.tolist()))}")
    rng = np.random.default_rng(seed)
    fold = np.full(len(groups), -1)
    for label, names in _groups_per_class(groups, labels):
        for name in rng.permutation([n for n in names if fold[groups == n][0] < 0]).tolist():
            of_class = [np.sum((fold == j) & (labels == label)) for j in range(k)]
            total = [np.sum(fold == j) for j in range(k)]
            fold[groups == name] = min(range(k), key=lambda j: (of_class[j], total[j]))
    return fold
