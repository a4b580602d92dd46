"""The arms of the downstream experiment: what each classifier trains on.

Every arm starts from the same real training ROIs of a fold and trains the same classifier from the same seed;
only the data (and, for ``oversample``, the sampling) differ. The non-synthetic arms are what a researcher
would try without a generator:

- ``real``: the real ROIs, no augmentation;
- ``classic``: the same with classic augmentation (:func:`classic_augmentation`);
- ``oversample``: classic augmentation and class-balanced sampling (``oversample_power`` 1: every class drawn
  equally often; 0.5: square-root balancing);
- ``copy_paste``: classic augmentation plus, for each lesion class, real lesions of that class pasted into real
  normal-tissue ROIs (:class:`~monai_roigan.transforms.CopyPasteLesiond`) until the class has as many ROIs as the
  largest lesion class: no training at all, the bar a generator must clear.

The candidate arms without a generator:

- ``transplant``: the ``copy_paste`` top-up, with the residuals of the real lesions (the lesion minus its
  in-painted background) added into the normal ROIs (:class:`~monai_roigan.transforms.TransplantLesiond`) instead of
  their pixels pasted: the arm that tells whether moving the lesion signal alone beats moving its pixels;
- ``copy_paste_seamless``: the ``copy_paste`` top-up with its options, but a random soft mask and a blend mode
  drawn per paste from feathered, Poisson and additive
  (:data:`~monai_roigan.transforms.blending.SEAMLESS_BLEND_MODES`): the arm that tells whether a seam a classifier
  cannot learn beats one it can;
- ``counterpart``: the ``classic`` arm, with each ROI given to the classifier as [ROI, residual]: the residual is
  the ROI minus the normal tissue that a tissue in-filler (``bundle/configs/counterpart.json``) predicts for its
  centre (:class:`~monai_roigan.transforms.NormalCounterpartd`), at training and at test time alike;
- ``copy_paste_counterpart``: the ``copy_paste`` top-up, then the same input.

The synthetic arms use the trained generator:

- ``synthetic``: classic augmentation plus synthetic ROIs of each lesion class up to the largest lesion class
  (:class:`~monai_roigan.apps.SyntheticBalancedDataset`), the same top-up as ``copy_paste``;
- ``synthetic_transplant``: the ``copy_paste`` top-up, with lesion residuals that a residual generator
  (``bundle/configs/residual.json``: trained as the other generators are, on the residuals of the training women's
  lesion ROIs, never on tissue) draws, added into the fold's real normal-tissue ROIs
  (:class:`~monai_roigan.transforms.TransplantLesiond`, ``residual_input``): the generator learns the lesion signal
  only, and the tissue stays real. The run's generator must be a residual generator;
- ``inserted``: the ``copy_paste`` top-up, with synthetic lesions that a context generator
  (:class:`~monai_roigan.networks.nets.ContextROIGenerator`) paints into the fold's real normal-tissue ROIs
  (:class:`~monai_roigan.transforms.InsertSyntheticLesiond`) instead of real lesions: the arm that tells whether
  in-filling beats pasting;
- ``synthetic_filtered``: the ``synthetic`` arm, but only synthetic ROIs that a classifier fitted on the fold's real
  lesion ROIs assigns to their class with probability at least ``min_confidence``
  (:class:`~monai_roigan.apps.ConfidenceFilter`); the acceptance rate per class is reported;
- ``synthetic_share_<s>`` (one arm per share in ``synthetic_shares``): classic augmentation plus ``s`` times each
  lesion class's real count of synthetic ROIs;
- ``synthetic_only``: synthetic lesion ROIs only (as many per class as the largest real lesion class), with the
  real normal ROIs when the task has a normal class;
- ``two_phase``: the ``synthetic`` arm for half of the steps, then the ``classic`` arm for the other half
  (fine-tuning on real ROIs only).

ROIs are (1, S, S) in [-1, 1]; lesion classes are labelled 0..K-1, normal tissue (when the task has it) K.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from monai.data import Dataset
from monai.transforms import Compose, RandAffined, RandFlipd, RandRotate90d, RandShiftIntensityd
from torch.utils.data import ConcatDataset

from monai_roigan.apps.sample_filter import ConfidenceFilter
from monai_roigan.apps.synthetic_dataset import SyntheticBalancedDataset
from monai_roigan.data.classes import NORMAL_CLASS
from monai_roigan.evaluation.data import ROISet
from monai_roigan.networks.sampling import synthesize
from monai_roigan.networks.source import GeneratorSource
from monai_roigan.transforms.blending import SEAMLESS_BLEND_MODES
from monai_roigan.transforms.copy_paste import CopyPasteLesiond
from monai_roigan.transforms.counterpart import NormalCounterpart, NormalCounterpartd
from monai_roigan.transforms.insertion import InsertSyntheticLesiond
from monai_roigan.transforms.transplant import TransplantLesiond

__all__ = [
    "ARMS",
    "NON_SYNTHETIC_ARMS",
    "ArmData",
    "CANDIDATES_WITHOUT_GENERATOR",
    "COUNTERPART_ARMS",
    "arm_dataset",
    "arm_inputs",
    "GENERATOR_FREE_ARMS",
    "check_inserted_source",
    "classic_augmentation",
    "expand_arms",
    "roi_dataset_items",
]

logger = logging.getLogger("monai_roigan.downstream")

NON_SYNTHETIC_ARMS = ("real", "classic", "oversample", "copy_paste")
#: the arms whose classifier sees [ROI, residual] (:class:`~monai_roigan.transforms.NormalCounterpart`)
COUNTERPART_ARMS = ("counterpart", "copy_paste_counterpart")
#: the candidates that need no generator, judged against the baselines as the synthetic arms are (the counterpart
#: arms need a tissue in-filler, not the run's generator)
CANDIDATES_WITHOUT_GENERATOR = ("transplant", "copy_paste_seamless", *COUNTERPART_ARMS)
#: arms that need no generator: the baselines and the candidates without one
GENERATOR_FREE_ARMS = (*NON_SYNTHETIC_ARMS, *CANDIDATES_WITHOUT_GENERATOR)
#: arm names; ``synthetic_share`` stands for one ``synthetic_share_<s>`` arm per share
ARMS = (
    *GENERATOR_FREE_ARMS,
    "synthetic",
    "synthetic_transplant",
    "inserted",
    "synthetic_filtered",
    "synthetic_share",
    "synthetic_only",
    "two_phase",
)


def classic_augmentation() -> list:
    """Flips, 90-degree rotations, a small affine transform (+-15 degrees, +-10% scale) and an intensity shift."""
    return [
        RandFlipd("image", prob=0.5, spatial_axis=1),
        RandRotate90d("image", prob=0.5),
        RandAffined("image", prob=0.5, rotate_range=np.pi / 12, scale_range=0.1, padding_mode="reflection"),
        RandShiftIntensityd("image", offsets=0.1, prob=0.5),
    ]


def expand_arms(arms: Sequence[str], synthetic_shares: Sequence[float]) -> list[str]:
    """The arm names to run: ``synthetic_share`` becomes ``synthetic_share_<s>`` for each share.

    Raises:
        ValueError: an unknown arm name, or a share that is not positive (before anything is trained).
    """
    unknown = sorted(set(arms) - set(ARMS))
    if unknown:
        raise ValueError(f"unknown arm(s) {unknown}; expected some of {ARMS}")
    if "synthetic_share" in arms and (not synthetic_shares or min(synthetic_shares) <= 0):
        raise ValueError(f"synthetic_shares must be positive, got {list(synthetic_shares)}")
    out = []
    for arm in arms:
        out += [f"synthetic_share_{s:g}" for s in synthetic_shares] if arm == "synthetic_share" else [arm]
    return out


def roi_dataset_items(rois: ROISet) -> list[dict]:
    """``{"image": (1, S, S) tensor, "label": int}`` items of an :class:`ROISet`."""
    return [{"image": torch.from_numpy(image), "label": int(label)} for image, label in zip(rois.images, rois.labels)]


@dataclass
class ArmData:
    """What one fold gives every arm: the real lesion ROIs (labels 0..K-1), the real normal-tissue ROIs (label K;
    the tissue that ``copy_paste`` pastes into, and the normal class when ``with_normal``), the generator, the
    lesion class names, the seed and truncation of the synthetic ROIs, the sample filter's threshold, the options
    of :class:`~monai_roigan.transforms.CopyPasteLesiond` in ``copy_paste``, the power of ``oversample``'s class
    balancing (:func:`~monai_roigan.engines.balancing_weights`), the scale a residual generator was trained with
    (``synthetic_transplant``), and the tissue in-filler's transform of the counterpart arms (``output``
    ``"residual"``)."""

    lesions: ROISet
    normals: ROISet
    source: GeneratorSource | None
    class_names: Sequence[str]
    with_normal: bool
    seed: int = 0
    truncation: float = 1.0
    min_confidence: float = 0.5
    copy_paste_options: Mapping = field(default_factory=dict)
    oversample_power: float = 1.0
    residual_scale: float = 1.0
    counterpart: NormalCounterpart | None = None

    def real(self) -> ROISet:
        return ROISet.concat([self.lesions, self.normals]) if self.with_normal else self.lesions

    def counts(self) -> dict[str, int]:
        return {n: int(np.sum(self.lesions.labels == k)) for k, n in enumerate(self.class_names)}

    def pipeline_classes(self) -> list[str]:
        return [*self.class_names, NORMAL_CLASS]


def _tissue_top_up(data: ArmData, inserter) -> list:
    """One dataset per lesion class: normal ROIs (cycled) that each get a lesion of that class from ``inserter(name)``
    (a dictionary transform that turns a normal ROI into one of class ``name``), up to the largest lesion class."""
    if len(data.normals) == 0:
        raise ValueError(
            "the copy_paste, transplant, copy_paste_seamless, copy_paste_counterpart, synthetic_transplant and "
            "inserted arms need "
            "normal-tissue ROIs: set normal_per_image > 0"
        )
    largest = max(data.counts().values())
    normals = roi_dataset_items(data.normals)
    parts = []
    for name, count in data.counts().items():
        jobs = [
            {"image": normals[j % len(normals)]["image"], "label": len(data.class_names)}
            for j in range(largest - count)
        ]
        if jobs and count:
            parts.append(Dataset(jobs, Compose([inserter(name), *classic_augmentation()])))
    return parts


def _copy_paste_top_up(data: ArmData, arm: str = "copy_paste") -> list:
    """Real lesions of each class moved into normal ROIs (:func:`_tissue_top_up`): pasted with ``copy_paste_options``
    (``copy_paste``), with them and a random mask and blend mode per paste (``copy_paste_seamless``), or their
    residuals added (``transplant``, :class:`~monai_roigan.transforms.TransplantLesiond`, its default options)."""
    bank = [
        {**item, "id": f"{data.class_names[item['label']]}-{k}"}
        for k, item in enumerate(roi_dataset_items(data.lesions))
    ]
    transform, options = CopyPasteLesiond, dict(data.copy_paste_options)
    if arm == "transplant":
        transform, options = TransplantLesiond, {}
    elif arm == "copy_paste_seamless":
        options.update(mask_shape="random", blend_modes=SEAMLESS_BLEND_MODES)
    return _bank_top_up(data, bank, transform, **options)


def _bank_top_up(data: ArmData, bank: list[dict], transform, **options) -> list:
    """:func:`_tissue_top_up` with ``transform`` (``CopyPasteLesiond`` or a subclass) over the lesion ``bank``, each
    class's normal ROIs getting lesions of that class only."""
    return _tissue_top_up(
        data,
        lambda name: transform(
            "image",
            bank,
            prob=1.0,
            class_names=data.pipeline_classes(),
            target_distribution={name: 1.0},
            **options,
        ),
    )


def _synthetic_transplant_top_up(data: ArmData) -> list:
    """Residuals of a residual generator added into normal ROIs (:func:`_tissue_top_up`): as many residuals per class
    as the largest lesion class (latents of ``data.seed``), each top-up ROI drawing one of its class."""
    generator, largest = data.source.get(), max(data.counts().values())
    bank = [
        {"image": residual, "label": k, "id": f"{name}-synthetic-{j}"}
        for k, name in enumerate(data.class_names)
        for j, residual in enumerate(synthesize(generator, k, range(largest), data.seed, truncation=data.truncation))
    ]
    return _bank_top_up(data, bank, TransplantLesiond, residual_input=True, residual_scale=data.residual_scale)


def check_inserted_source(source: GeneratorSource | None) -> None:
    """Refuse a generator that cannot paint lesions into given ROIs, as the ``inserted`` arm needs."""
    if source is None or source.kind != "context":
        described = None if source is None else source.describe()
        raise ValueError(f"the inserted arm needs a context generator (bundle/configs/context.json), got {described}")


def _inserted_top_up(data: ArmData) -> list:
    """Synthetic lesions of each class painted into normal ROIs by a context generator (:func:`_tissue_top_up`)."""
    check_inserted_source(data.source)
    return _tissue_top_up(
        data,
        lambda name: InsertSyntheticLesiond(
            "image",
            data.source,
            prob=1.0,
            class_names=data.pipeline_classes(),
            target_distribution={name: 1.0},
            generator_classes=data.class_names,
            truncation=data.truncation,
        ),
    )


def _synthetic(data: ArmData, target: dict[str, int], filtered: bool = False) -> SyntheticBalancedDataset:
    names = data.pipeline_classes() if data.with_normal else list(data.class_names)
    keep = None
    if filtered:  # the judge sees only the fold's real lesion ROIs, never a test woman
        keep = ConfidenceFilter.fit(
            torch.from_numpy(data.lesions.images),
            torch.from_numpy(data.lesions.labels),
            len(data.class_names),
            data.min_confidence,
            seed=data.seed,
        )
    return SyntheticBalancedDataset(
        roi_dataset_items(data.real()),
        data.source,
        target=target,
        class_names=names,
        generator_classes=data.class_names,
        seed=data.seed,
        truncation=data.truncation,
        transform=Compose(classic_augmentation()),
        sample_filter=keep,
    )


def _synthetic_only(data: ArmData) -> Dataset:
    generator, largest = data.source.get(), max(data.counts().values())
    images = torch.cat(
        [
            synthesize(generator, k, range(largest), data.seed, truncation=data.truncation)
            for k in range(len(data.class_names))
        ]
    )
    labels = np.repeat(np.arange(len(data.class_names)), largest)
    rois = ROISet(images.numpy(), labels, labels.astype(str))
    if data.with_normal:
        rois = ROISet.concat([rois, data.normals])
    return Dataset(roi_dataset_items(rois), Compose(classic_augmentation()))


def _with_counterpart(arm: str, data: ArmData, dataset):
    """``dataset`` with each item's image (1, S, S) turned into [ROI, residual] (2, S, S) after its augmentation."""
    if data.counterpart is None:
        raise ValueError(
            f"the {arm} arm needs a tissue in-filler: run_downstream's counterpart_model (downstream.json's "
            "counterpart_model, trained by bundle/configs/counterpart.json)"
        )
    return Dataset(dataset, NormalCounterpartd("image", data.counterpart))  # the transform arm_inputs uses


def arm_inputs(arm: str, data: ArmData, images: np.ndarray) -> np.ndarray:
    """What ``arm``'s classifier sees of ROIs (N, 1, S, S) in [-1, 1]: [ROI, residual] (N, 2, S, S) for the
    counterpart arms, the ROIs as they are otherwise."""
    if arm not in COUNTERPART_ARMS:
        return images
    return data.counterpart.batch(torch.as_tensor(images)).numpy()


def arm_dataset(arm: str, data: ArmData):
    """The training dataset of ``arm`` (``two_phase``: of its first phase; its second is ``classic``)."""
    dataset = _arm_dataset(arm, data)
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug("arm %s: %d training ROIs from %d real ones", arm, len(dataset), len(data.real()))
    return dataset


def _arm_dataset(arm: str, data: ArmData):
    if arm == "real":
        return Dataset(roi_dataset_items(data.real()))
    if arm in ("classic", "oversample"):
        return Dataset(roi_dataset_items(data.real()), Compose(classic_augmentation()))
    if arm in COUNTERPART_ARMS:
        base = {"counterpart": "classic", "copy_paste_counterpart": "copy_paste"}[arm]
        return _with_counterpart(arm, data, _arm_dataset(base, data))
    if arm in ("copy_paste", "transplant", "copy_paste_seamless"):
        return ConcatDataset([_arm_dataset("classic", data), *_copy_paste_top_up(data, arm)])
    if arm == "inserted":
        return ConcatDataset([_arm_dataset("classic", data), *_inserted_top_up(data)])
    if arm == "synthetic_transplant":
        return ConcatDataset([_arm_dataset("classic", data), *_synthetic_transplant_top_up(data)])
    if arm in ("synthetic", "two_phase", "synthetic_filtered"):
        return _synthetic(
            data, dict.fromkeys(data.class_names, max(data.counts().values())), arm == "synthetic_filtered"
        )
    if arm.startswith("synthetic_share_"):
        share = float(arm.removeprefix("synthetic_share_"))
        return _synthetic(data, {n: c + int(round(share * c)) for n, c in data.counts().items()})
    if arm == "synthetic_only":
        return _synthetic_only(data)
    raise ValueError(f"unknown arm {arm!r}; expected some of {ARMS}")
