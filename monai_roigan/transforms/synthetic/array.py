"""``SyntheticROIAugment``: the trained generator as a MONAI random transform (dictionary twin:
:class:`~monai_roigan.transforms.synthetic.dictionary.SyntheticROIAugmentd`).

With probability ``prob`` an ROI is replaced by a synthetic ROI of its own class (or of a class chosen by
``class_map`` / ``target_distribution`` in the dictionary version, which then rewrites the label too).

Conventions:

- labels may be ints (indices into ``class_names``), one-hot vectors, or class names; a rewritten label
  keeps the form it came in;
- the generator knows ``generator_classes`` (default: architectural distortion, asymmetry, calcification,
  mass, in that order); samples of other classes (e.g. ``normal``) pass unchanged unless mapped;
- the output has the input's shape (resized when the generator's 64x64 differs), dtype and device, and
  intensities in ``intensity_range`` (default [-1, 1], the ROI pipeline's range; (0, 1) for [0, 1]);
- meta: ``synthetic`` (True/False on every sample, so batches of real and synthetic ROIs collate),
  ``synthetic_generator`` (bundle version and weights hash), ``synthetic_class``, ``synthetic_seed`` and
  ``synthetic_index`` (the ROI's latent is :func:`~monai_roigan.networks.sampling.latent_for` of seed,
  generator class and index), ``synthetic_draw`` (a number drawn per output from a pool, so that two draws of
  one pool ROI get different file names; -1 otherwise) and a file name ``synthetic_<class>_<seed>_<index>``
  (``_d<draw>`` appended for pool draws); the keys of the replaced image that point at its source
  (:data:`SOURCE_IMAGE_KEYS`:
  file name, source path, ROI centre) are overwritten, so that no synthetic ROI points at a patient image.

Randomness comes from the transform's ``self.R`` only (``set_random_state``, and MONAI's per-worker
seeding in ``DataLoader``). By default the synthetic ROIs come from a **pool**
(:class:`~monai_roigan.networks.pool.ROIBank`): ``pool_size`` ROIs per class,
generated once when the transform is built (ROI ``k`` of class ``c`` from ``latent_for(pool_seed, c, k)``), from
which each replacement draws one with ``self.R``. Built before ``DataLoader`` workers start, the pool travels
with the transform, so no worker runs the generator. With ``pool_size=None`` every replacement is a fresh ROI
instead, from a per-class bank refilled with one generator batch whose latents are seeded from ``self.R``.
Either way the same seed gives the same sequence of synthetic ROIs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from monai.data import MetaTensor
from monai.transforms import RandomizableTransform
from monai.utils import TransformBackends
from torch import nn

from monai_roigan.data.classes import ABNORMALITY_CLASSES
from monai_roigan.networks.pool import DEFAULT_POOL_SIZE, ROIBank, SampleFilter
from monai_roigan.networks.sampling import fit_to_pipeline
from monai_roigan.networks.source import GeneratorSource, as_generator_source
from monai_roigan.transforms.labels import ClassLabels

__all__ = [
    "SyntheticROIAugment",
    "SOURCE_IMAGE_KEYS",
    "check_share",
    "check_single_roi",
    "mark_real",
    "synthetic_meta",
]

#: meta keys that point at the real image an ROI came from; overwritten on synthetic ROIs
SOURCE_IMAGE_KEYS = ("filename_or_obj", "source_path", "roi_center", "source", "center", "group", "saved_to")


class SyntheticROIAugment(RandomizableTransform):
    """Replace an ROI by a synthetic ROI of its class with probability ``prob``.

    ``__call__(img, label)``: ``img`` (C, H, W) tensor/array/MetaTensor, ``label`` int, one-hot vector or class
    name. Returns an image like ``img``; samples whose class the generator does not know pass unchanged.

    Args:
        generator: bundle folder, weights/checkpoint file, nn.Module, or a :class:`GeneratorSource`.
        prob: probability of replacing a sample.
        class_names: the pipeline's classes in label order (default: the four abnormality classes).
        generator_classes: the generator's classes in its label order.
        intensity_range: (low, high) the pipeline's intensities live in; the generator's [-1, 1] maps onto it.
        bank_size: ROIs generated per class in one batch.
        pool_size: synthetic ROIs per class generated once, here, and drawn from (with replacement) by every
            replacement; ``DataLoader`` workers receive the pool and never run the generator. None: a fresh ROI for
            every replacement, generated in the workers (what that costs: docs/augmentation.md, "Fresh ROIs").
            Only the generator classes among ``pool_classes`` are pooled.
        pool_seed: seed of the pool's latents (ROI ``k`` of class ``c``: ``latent_for(pool_seed, c, k)``).
        pool_classes: the class names to pool (default: every generator class among ``class_names``; the dictionary
            version passes the classes its ``class_map`` or ``target_distribution`` can ask for). Replacing a sample
            of a class outside them raises ``KeyError``.
        device: where the generator runs.
        latent_distribution: as the generator was trained (``"uniform"``).
        truncation: latent scale psi in (0, 1]; the bundle's default is 1.0, the full range (see docs/model.md).
        sample_filter: keep only the synthetic ROIs it accepts, e.g.
            :class:`~monai_roigan.apps.ConfidenceFilter` (a classifier fitted on the real training ROIs must give
            the ROI's class at least ``min_confidence``); :meth:`acceptance_rates` reports what it kept.
        max_synthetic_share: at most this share in (0, 1] of the samples of a class that this transform has put
            out are synthetic (counted per process); a sample that would exceed it passes unchanged. None: no cap.

    Raises (at construction): FileNotFoundError / ValueError for a missing, corrupt or mismatching generator,
    ValueError for class names the generator does not know, a share outside (0, 1] or a ``pool_size`` that is
    neither None nor a positive integer. At a call: RuntimeError when a ``sample_filter`` rejected 4096 ROIs of the
    sample's class in a row and accepted none.
    """

    backend = [TransformBackends.TORCH, TransformBackends.NUMPY]

    def __init__(
        self,
        generator: str | nn.Module | GeneratorSource,
        prob: float = 0.5,
        class_names: Sequence[str] = ABNORMALITY_CLASSES,
        generator_classes: Sequence[str] = ABNORMALITY_CLASSES,
        intensity_range: tuple[float, float] = (-1.0, 1.0),
        bank_size: int = 64,
        device="cpu",
        latent_distribution: str = "uniform",
        truncation: float = 1.0,
        sample_filter: SampleFilter | None = None,
        max_synthetic_share: float | None = None,
        pool_size: int | None = DEFAULT_POOL_SIZE,
        pool_seed: int = 0,
        pool_classes: Sequence[str] | None = None,
    ):
        RandomizableTransform.__init__(self, prob)
        self.labels = ClassLabels(class_names)
        self.class_names, self.generator_classes = self.labels.class_names, list(generator_classes)
        self.source = as_generator_source(generator, len(self.generator_classes), device)
        self.intensity_range = (float(intensity_range[0]), float(intensity_range[1]))
        wanted = self.class_names if pool_classes is None else list(pool_classes)
        pooled = [self.generator_classes.index(name) for name in wanted if name in self.generator_classes]
        self.bank = ROIBank(
            self.source,
            bank_size,
            latent_distribution,
            truncation,
            sample_filter,
            pool_size=pool_size,
            pool_classes=pooled,
            pool_seed=pool_seed,
        )
        self.max_synthetic_share = check_share(max_synthetic_share)
        self.outputs: dict[int, list[int]] = {}  # pipeline class -> [samples put out, synthetic among them]

    # the share cap ----------------------------------------------------------------------------------------
    def allows(self, class_index: int) -> bool:
        """Whether one more synthetic ROI of ``class_index`` keeps its share within ``max_synthetic_share``."""
        if self.max_synthetic_share is None:
            return True
        total, synthetic = self.outputs.get(class_index, [0, 0])
        return (synthetic + 1) / (total + 1) <= self.max_synthetic_share + 1e-12

    def record(self, class_index: int, synthetic: bool) -> None:
        """Count one sample of ``class_index`` put out (for the share cap)."""
        counts = self.outputs.setdefault(class_index, [0, 0])
        counts[0] += 1
        counts[1] += int(synthetic)

    def acceptance_rates(self) -> dict[str, float]:
        """{generator class name: share of the generated ROIs the sample filter kept} in this process so far."""
        return {self.generator_classes[c]: rate for c, rate in self.bank.acceptance_rates().items()}

    # generation -------------------------------------------------------------------------------------------
    def synthetic_like(self, img, class_index: int):
        """A synthetic ROI of pipeline class ``class_index`` shaped, typed and placed like ``img``."""
        name = self.class_names[class_index]
        roi, seed, index = self.bank.take(self.generator_classes.index(name), self.R)
        draw = int(self.R.randint(0, 2**62, dtype=np.int64)) if self.bank.pool_size is not None else -1
        roi = fit_to_pipeline(roi, self.intensity_range, img.shape[1:], img.shape[0])
        meta = synthetic_meta(img, name, self.source.describe(), seed, index, draw)
        if isinstance(img, torch.Tensor):
            return MetaTensor(roi.to(device=img.device, dtype=img.dtype), meta=meta)
        return roi.numpy().astype(np.asarray(img).dtype)

    def __call__(self, img, label, randomize: bool = True):
        check_single_roi(img)
        index = self.labels.index(label)
        if randomize:
            self.randomize(None)
        replace = self._do_transform and self.class_names[index] in self.generator_classes and self.allows(index)
        self.record(index, replace)
        return self.synthetic_like(img, index) if replace else mark_real(img)


def check_share(share: float | None) -> float | None:
    """``share`` as a float in (0, 1], or None; ``ValueError`` naming the value otherwise."""
    if share is None:
        return None
    if not 0.0 < float(share) <= 1.0:
        raise ValueError(f"max_synthetic_share must be in (0, 1], got {share}")
    return float(share)


def check_single_roi(img) -> None:
    """Raise ``ValueError`` unless ``img`` is one 2D ROI (C, H, W): a batch or a volume would get one class."""
    shape = tuple(img.shape) if hasattr(img, "shape") else np.shape(img)  # np.shape of a MetaTensor copies it
    if len(shape) != 3:
        raise ValueError(
            f"expects one ROI of shape (C, H, W), got {shape}: apply it per sample, in the dataset's "
            "transforms before batching, on 2D ROIs"
        )


def synthetic_meta(img, class_name: str, generator: str, seed: int, index: int, draw: int = -1) -> dict:
    """Meta of a synthetic ROI replacing ``img``: the same keys, provenance overwritten, synthetic keys set.

    ``seed`` and ``index`` name the latent (``latent_for(seed, class, index)``); ``draw`` (>= 0) tells apart
    outputs that reuse one latent (draws from a pool), so their file names differ; -1 when the latent is unique.
    """
    meta = dict(img.meta) if isinstance(img, MetaTensor) else {}
    marker = f"synthetic_{class_name}_{seed}_{index}"  # a portable file name (no ':' for Windows)
    marker += f"_d{draw}" if draw >= 0 else ""
    for key in SOURCE_IMAGE_KEYS:
        if key in meta:
            meta[key] = _blank(meta[key], marker)
    meta["filename_or_obj"] = marker
    meta.update(
        synthetic=True,
        synthetic_generator=generator,
        synthetic_class=class_name,
        synthetic_seed=seed,
        synthetic_index=index,
        synthetic_draw=draw,
    )
    if "class_name" in meta:
        meta["class_name"] = class_name
    return meta


def _blank(value, marker: str):
    """``value`` replaced by ``marker`` (strings) or -1 of the same type and shape (numbers, arrays, lists)."""
    if isinstance(value, str):
        return marker
    if isinstance(value, torch.Tensor):
        return torch.full_like(value, -1)
    if isinstance(value, np.ndarray):
        return np.full_like(value, -1)
    if isinstance(value, (list, tuple)):
        return type(value)(_blank(v, marker) for v in value)
    return type(value)(-1) if isinstance(value, (int, float, np.number)) else marker


def mark_real(img):
    """``img`` with the synthetic meta keys set for a real sample (so real and synthetic ROIs collate).

    A plain tensor becomes a MetaTensor (synthetic ROIs are MetaTensors too); NumPy arrays pass unchanged.
    """
    if isinstance(img, torch.Tensor) and not isinstance(img, MetaTensor):
        img = MetaTensor(img)
    if isinstance(img, MetaTensor):
        img.meta.update(
            synthetic=False,
            synthetic_generator="",
            synthetic_class="",
            synthetic_seed=-1,
            synthetic_index=-1,
            synthetic_draw=-1,
        )
    return img
