"""Real ROIs for evaluating a generator: the ROIs it trained on, and ROIs of women it never saw.

:func:`evaluation_rois` returns both as :class:`ROISet` arrays, without dihedral copies (those are training
augmentation; :meth:`ROISet.dihedral` makes them when a check needs them), and, on request, normal-tissue ROIs
of both sides (the negatives of the abnormal-versus-normal task of the downstream experiment).

- Phantom (``dataset_dir=None``, ``holdout_fraction=0``): the generator trained on the bundle's phantom
  (``seed``); the held-out ROIs come from an independent phantom (``heldout_seed``), so there are as many
  unseen mammograms as the phantom has.
- A real dataset, a datalist, or a phantom trained with a hold-out: the same split by woman as training
  (:func:`~monai_roigan.data.splits.holdout_groups` with the same ``holdout_fraction`` and ``split_seed``).
  Without a hold-out there is nothing the generator has not seen, and evaluation refuses to run. Normal ROIs
  of a woman with a lesion go to her lesion's side; other women's are held out in ``holdout_fraction``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import NamedTuple

import numpy as np

from monai_roigan.apps.training_data import training_datalist, training_rois
from monai_roigan.data.classes import ABNORMALITY_CLASSES, NORMAL_CLASS
from monai_roigan.data.dihedral import dihedral_variants
from monai_roigan.data.roi_cache import load_roi_cache, roi_cache_datalist
from monai_roigan.data.splits import held_out_normal_groups, split_datalist
from monai_roigan.utils.errors import ConfigurationError

__all__ = ["EvaluationROIs", "ROISet", "as_evaluation_rois", "evaluation_rois"]


@dataclass
class ROISet:
    """ROIs as arrays: ``images`` (N, 1, S, S) float32 in [-1, 1], ``labels`` (N,) class indices and ``groups``
    (N,) the patient each ROI comes from (str; :func:`~monai_roigan.apps.prepare.patient_group`: the woman for MIAS
    and CBIS-DDSM, else the mammogram)."""

    images: np.ndarray
    labels: np.ndarray
    groups: np.ndarray

    @classmethod
    def from_items(cls, items: Sequence[dict]) -> ROISet:
        """From datalist items with ``image`` (1, S, S), ``label`` and ``group``."""
        if not items:
            return cls(np.zeros((0, 1, 1, 1), np.float32), np.zeros(0, np.int64), np.zeros(0, str))
        images = np.stack([np.asarray(i["image"], dtype=np.float32) for i in items])
        return cls(images, np.array([int(i["label"]) for i in items]), np.array([str(i["group"]) for i in items]))

    @classmethod
    def concat(cls, parts: Sequence[ROISet]) -> ROISet:
        """The ROIs of ``parts`` in order (empty parts are skipped)."""
        parts = [p for p in parts if len(p)] or list(parts[:1])
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("images", "labels", "groups")))

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, mask) -> ROISet:
        """The ROIs selected by a boolean mask or an index array."""
        return ROISet(self.images[mask], self.labels[mask], self.groups[mask])

    def of_class(self, label: int) -> ROISet:
        return self.subset(self.labels == label)

    def dihedral(self) -> ROISet:
        """The ROIs with their 8 rotations and flips (8N ROIs), as the training cache holds them."""
        variants = [images for _, images in dihedral_variants(self.images, "dihedral")]
        return ROISet(np.concatenate(variants), np.tile(self.labels, 8), np.tile(self.groups, 8))


class EvaluationROIs(NamedTuple):
    """The real ROIs of an evaluation, passed whole to :func:`~monai_roigan.evaluation.evaluate_generator` and
    :func:`~monai_roigan.evaluation.run_downstream` (``@real_rois`` in the bundle).

    ``train``: the ROIs the generator trained on (no dihedral copies); ``held_out``: ROIs of women it never saw;
    ``source``: a sentence naming where ``held_out`` comes from, for the reports; ``normal_*``: normal-tissue ROIs
    (label ``len(class_names)``) of the training and the held-out women (None or empty: none). No patient is in
    both a ``train*`` and a ``held_out*`` set. ``external``: the held-out ROIs come from an external test set
    (another folder), the training ones from the whole training folder. :func:`evaluation_rois` makes one from
    the bundle's settings; ``EvaluationROIs(train, held_out)`` wraps two :class:`ROISet` by hand."""

    train: ROISet
    held_out: ROISet
    source: str = "held-out real ROIs"
    normal_train: ROISet | None = None
    normal_held_out: ROISet | None = None
    external: bool = False


def as_evaluation_rois(rois, caller: str) -> EvaluationROIs:
    """``rois`` as an :class:`EvaluationROIs` (a plain tuple of its fields is accepted).

    Raises:
        TypeError: anything else, e.g. a single :class:`ROISet` passed where the whole evaluation set is expected
            (the form of calls before 0.9.0, which passed the training and held-out sets one by one).
    """
    if isinstance(rois, EvaluationROIs):
        return rois
    if isinstance(rois, tuple) and 2 <= len(rois) <= len(EvaluationROIs._fields):
        return EvaluationROIs(*rois)
    raise TypeError(
        f"{caller}(generator, rois, output_dir, class_names, ...) takes the evaluation ROIs as one EvaluationROIs "
        f"(evaluation_rois(...) or EvaluationROIs(train, held_out)), got {type(rois).__name__}"
    )


def _normal_split(normals: ROISet, train: ROISet, held: ROISet, fraction: float, seed: int) -> tuple[ROISet, ROISet]:
    """Normal ROIs split by woman (:func:`~monai_roigan.data.splits.held_out_normal_groups`)."""
    held_groups = held_out_normal_groups(
        normals.groups.tolist(), train.groups.tolist(), held.groups.tolist(), fraction, seed
    )
    held_mask = np.isin(normals.groups.astype(str), sorted(held_groups))
    return normals.subset(~held_mask), normals.subset(held_mask)


def _renamed(rois: ROISet, prefix: str) -> ROISet:
    """``rois`` with ``prefix`` before every woman's name."""
    return ROISet(rois.images, rois.labels, np.char.add(prefix, rois.groups.astype(str)))


def _normal_rois(cache: Path, label: int) -> ROISet:
    items = roi_cache_datalist(cache, classes=[NORMAL_CLASS])
    return ROISet.from_items([{**i, "label": label} for i in items])


def evaluation_rois(
    cache_dir: str | PathLike,
    dataset_dir: str | PathLike | None = None,
    dataset: str = "mias",
    class_names: Sequence[str] = ABNORMALITY_CLASSES,
    image_size: int = 64,
    holdout_fraction: float = 0.0,
    split_seed: int = 0,
    seed: int = 0,
    num_phantom_images: int = 120,
    heldout_seed: int = 1,
    datalist: str | PathLike | None = None,
    normal_per_image: int = 0,
    test_dataset_dir: str | PathLike | None = None,
    test_dataset: str | None = None,
    test_datalist: str | PathLike | None = None,
) -> EvaluationROIs:
    """The real ROIs of an evaluation as one :class:`EvaluationROIs`: the ROIs the generator trained on, held-out
    ROIs, a sentence naming the held-out source, normal-tissue ROIs of the training and of the held-out women.

    The arguments mean what they mean in the training bundle and must have the same values as there
    (``cache_dir``, ``dataset_dir``, ``dataset``, ``datalist``, ``seed``, ``num_phantom_images``,
    ``holdout_fraction``, ``split_seed``); ``heldout_seed`` is the seed of the independent phantom;
    ``normal_per_image`` normal-tissue ROIs are cut inside the breast of each normal mammogram (0: none).
    The held-out women of the independent phantom are other women under the training phantom's file names, so
    their ``groups`` get the prefix ``phantom<heldout_seed>-``.
    ``test_dataset_dir`` (with ``test_dataset``, default ``dataset``) or ``test_datalist``: an external test set
    that neither the generator nor any classifier trained on; every ROI of the training folder is then a
    training ROI, and the held-out ROIs are those of the external set.

    Raises:
        ConfigurationError: a real dataset or datalist without a hold-out or an external test set, a held-out
            phantom seed equal to the training seed, a class with no held-out ROI, or an external test set that
            shares an image file or a patient with the training data.
    """
    if test_dataset_dir is not None or test_datalist is not None:
        return _external_rois(
            cache_dir,
            dataset_dir,
            dataset,
            class_names,
            image_size,
            seed,
            num_phantom_images,
            datalist,
            normal_per_image,
            test_dataset_dir,
            test_dataset or dataset,
            test_datalist,
        )
    independent_phantom = dataset_dir is None and datalist is None and holdout_fraction == 0
    if independent_phantom and heldout_seed == seed:
        raise ConfigurationError(
            f"heldout_seed {heldout_seed} equals the training phantom's seed: the held-out "
            "phantom would be the training phantom; choose another heldout_seed"
        )
    options = dict(
        seed=seed,
        num_phantom_images=num_phantom_images,
        output_size=image_size,
        augment="none",
        normal_per_image=normal_per_image,
    )
    cache = training_rois(cache_dir, dataset_dir, dataset, datalist=datalist, **options)
    items, normal = training_datalist(cache, class_names, image_size), len(class_names)
    if independent_phantom:
        held_dir = Path(cache_dir) / f"heldout_phantom_{heldout_seed}"
        held_cache = training_rois(held_dir, None, **{**options, "seed": heldout_seed})
        train, held = (
            ROISet.from_items(items),
            ROISet.from_items(training_datalist(held_cache, class_names, image_size)),
        )
        source = f"an independent phantom (seed {heldout_seed}, {num_phantom_images} mammograms)"
        normals = (_normal_rois(cache, normal), _normal_rois(held_cache, normal)) if normal_per_image else None
        # other women under the training phantom's names: renamed, so no woman appears on both sides
        held = _renamed(held, f"phantom{heldout_seed}-")
        normals = normals and (normals[0], _renamed(normals[1], f"phantom{heldout_seed}-"))
    elif holdout_fraction == 0:
        raise ConfigurationError(
            "evaluation needs women the generator never saw: train and evaluate with the same "
            "holdout_fraction > 0 (e.g. 0.3) and split_seed"
        )
    else:
        train, held = (ROISet.from_items(part) for part in split_datalist(items, holdout_fraction, split_seed))
        source = f"the held-out women (holdout_fraction {holdout_fraction}, split_seed {split_seed})"
        normals = None
        if normal_per_image:
            normals = _normal_split(_normal_rois(cache, normal), train, held, holdout_fraction, split_seed)
    empty = [name for k, name in enumerate(class_names) if not np.any(held.labels == k)]
    if empty:
        raise ConfigurationError(f"no held-out ROIs of class(es) {empty}; raise holdout_fraction or add data")
    none = ROISet.from_items([])
    return EvaluationROIs(train, held, source, *(normals or (none, none)))


def _cache_rois(cache: Path, class_names: Sequence[str], normal_per_image: int) -> tuple[ROISet, ROISet]:
    """(lesion ROIs of ``class_names``, normal ROIs) of a whole cache, without any split."""
    lesions = roi_cache_datalist(cache, classes=list(class_names))
    for item in lesions:
        item["label"] = list(class_names).index(item["class_name"])
    normals = _normal_rois(cache, len(class_names)) if normal_per_image else ROISet.from_items([])
    return ROISet.from_items(lesions), normals


def _check_disjoint(train_cache: Path, test_cache: Path) -> None:
    """Refuse an external test set that shares an image file or a patient (a woman) with the training data."""
    train, test = load_roi_cache(train_cache), load_roi_cache(test_cache)
    files = {str(Path(p).resolve()) for p in train["sources"]} & {str(Path(p).resolve()) for p in test["sources"]}
    women = set(train["groups"].tolist()) & set(test["groups"].tolist())
    if files or women:
        shared = sorted(files)[:3] if files else sorted(women)[:3]
        raise ConfigurationError(
            f"the external test set overlaps the training data: {len(files)} image file(s) and "
            f"{len(women)} patient(s) in both (e.g. {shared}); use a test folder of other women"
        )


def _external_rois(
    cache_dir,
    dataset_dir,
    dataset,
    class_names,
    image_size,
    seed,
    num_phantom_images,
    datalist,
    normal_per_image,
    test_dataset_dir,
    test_dataset,
    test_datalist,
) -> EvaluationROIs:
    options = dict(
        seed=seed,
        num_phantom_images=num_phantom_images,
        output_size=image_size,
        augment="none",
        normal_per_image=normal_per_image,
    )
    train_cache = training_rois(cache_dir, dataset_dir, dataset, datalist=datalist, **options)
    test_cache = training_rois(
        Path(cache_dir) / "external_test", test_dataset_dir, test_dataset, datalist=test_datalist, **options
    )
    _check_disjoint(train_cache, test_cache)
    train, normal_train = _cache_rois(train_cache, class_names, normal_per_image)
    held, normal_held = _cache_rois(test_cache, class_names, normal_per_image)
    empty = [name for k, name in enumerate(class_names) if not np.any(held.labels == k)]
    if empty:
        raise ConfigurationError(
            f"the external test set {test_datalist or test_dataset_dir} has no ROI of class(es) "
            f"{empty}; every class needs test ROIs"
        )
    source = f"the external test set {test_datalist or test_dataset_dir}"
    return EvaluationROIs(train, held, source, normal_train, normal_held, external=True)
