"""``SyntheticROIAugment`` / ``SyntheticROIAugmentd``: the trained generator as a MONAI random transform.

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
seeding in ``DataLoader``). By default the synthetic ROIs come from a **pool**: ``pool_size`` ROIs per class,
generated once when the transform is built (ROI ``k`` of class ``c`` from ``latent_for(pool_seed, c, k)``), from
which each replacement draws one with ``self.R``. Built before ``DataLoader`` workers start, the pool travels
with the transform, so no worker runs the generator. With ``pool_size=None`` every replacement is a fresh ROI
instead, from a per-class bank refilled with one generator batch whose latents are seeded from ``self.R``.
Either way the same seed gives the same sequence of synthetic ROIs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import NamedTuple

import numpy as np
import torch
from monai.config import KeysCollection
from monai.data import MetaTensor
from monai.transforms import MapTransform, RandomizableTransform
from monai.utils import TransformBackends
from torch import nn

from monai_roigan.data.classes import ABNORMALITY_CLASSES
from monai_roigan.networks.sampling import (
    check_latent_distribution,
    check_truncation,
    fit_to_pipeline,
    run_generator,
    synthesize,
)
from monai_roigan.networks.source import GeneratorSource, as_generator_source
from monai_roigan.transforms.labels import ClassLabels

__all__ = [
    "SyntheticROIAugment",
    "SyntheticROIAugmentd",
    "ROIBank",
    "SampleFilter",
    "SOURCE_IMAGE_KEYS",
    "DEFAULT_POOL_SIZE",
    "AcceptedCandidates",
    "accepted_candidates",
    "balancing_distribution",
    "check_single_roi",
    "mark_real",
    "synthetic_meta",
]

logger = logging.getLogger("monai_roigan.synthetic")

#: meta keys that point at the real image an ROI came from; overwritten on synthetic ROIs
SOURCE_IMAGE_KEYS = ("filename_or_obj", "source_path", "roi_center", "source", "center", "group", "saved_to")


#: ``sample_filter(images (N, 1, S, S) in [-1, 1], generator class index) -> (N,) bool``: which synthetic ROIs to keep
SampleFilter = Callable[[torch.Tensor, int], torch.Tensor]

#: synthetic ROIs per class in the pool of :class:`SyntheticROIAugment(d) <SyntheticROIAugment>` by default
#: (64x64 float32: 16 KiB each, 32 MiB for four classes)
DEFAULT_POOL_SIZE = 512


class AcceptedCandidates(NamedTuple):
    """What :func:`accepted_candidates` found: ``images`` (n, 1, S, S) and their candidate ``indices`` (n,) int64
    (n <= wanted), the candidates ``generated`` and ``accepted`` by the filter in the batches judged (accepted ones
    beyond ``wanted`` included), and the candidates ``rejected`` in a row when it stopped."""

    images: torch.Tensor
    indices: torch.Tensor
    generated: int
    accepted: int
    rejected: int


def accepted_candidates(
    generate: Callable[[range], torch.Tensor],
    sample_filter: SampleFilter | None,
    class_index: int,
    wanted: int,
    batch_size: int,
    max_rejected: int,
) -> AcceptedCandidates:
    """The first ``wanted`` candidates ``k = 0, 1, 2, ...`` of a generator class that ``sample_filter`` accepts (all,
    without a filter), generated ``batch_size`` at a time by ``generate(range of k) -> (n, 1, S, S)``.

    With a filter the batches are whole (``k`` stays aligned to ``batch_size``); it stops early, with fewer than
    ``wanted``, once ``max_rejected`` candidates in a row were rejected.
    """
    images: list[torch.Tensor] = []
    indices: list[torch.Tensor] = []
    start = found = rejected = 0
    while found < wanted and rejected < max_rejected:
        size = batch_size if sample_filter is not None else min(batch_size, wanted - start)
        batch = generate(range(start, start + size))
        keep = torch.ones(size, dtype=torch.bool) if sample_filter is None else sample_filter(batch, class_index)
        images.append(batch[keep])
        indices.append(torch.arange(start, start + size)[keep])
        found = found + int(keep.sum())
        rejected = 0 if keep.any() else rejected + size
        start = start + size
    if not images:
        return AcceptedCandidates(torch.empty(0), torch.empty(0, dtype=torch.long), 0, 0, 0)
    return AcceptedCandidates(
        torch.cat(images)[:wanted].contiguous(), torch.cat(indices)[:wanted], start, found, rejected
    )


class ROIBank:
    """Per-class stores of generated ROIs (1, S, S) in [-1, 1] on the CPU, in one of two modes.

    - **Pool** (``pool_size`` set): ``pool_size`` ROIs of each class in ``pool_classes``, generated when the bank
      is built, in batches of ``bank_size``; ROI ``k`` of class ``c`` comes from
      :func:`~monai_roigan.networks.sampling.latent_for` ``(pool_seed, c, k)``. :meth:`take` draws one uniformly,
      with replacement, and never runs the generator: a bank built before ``DataLoader`` workers fork is shared
      by them (its tensors are only read), and a worker started afresh every epoch costs no generation.
    - **Fresh** (``pool_size=None``): every :meth:`take` hands out an ROI not handed out before. Refills start
      small and double up to ``bank_size`` (4, 8, 16, ...), so a short-lived worker (one epoch of a small dataset)
      generates little more than it uses and a long-lived one generates in full batches.

    With a ``sample_filter`` only the ROIs it accepts enter the stores (the pool then holds ``pool_size`` accepted
    ROIs, ``k`` counting the candidates); :meth:`acceptance_rates` counts them. When the filter rejects
    ``max_rejected`` candidates of a class in a row, that class's pool keeps the accepted ones found so far (a
    warning says how many); with none, :meth:`take` of that class raises, as fresh refills do.

    Args:
        source: the generator.
        bank_size: the largest number of ROIs generated in one batch.
        latent_distribution: ``"uniform"`` (U(-1, 1), as trained) or ``"normal"``.
        truncation: latent scale psi in (0, 1] (U(-psi, psi)); below 1 trades diversity for class fidelity.
        sample_filter: keeps a subset of each batch (e.g. :class:`~monai_roigan.apps.ConfidenceFilter`), or None.
        max_rejected: at most this many ROIs of one class may be rejected in a row before a ``RuntimeError``
            says that the filter accepts (almost) nothing of that class.
        pool_size: ROIs per class in the pool (an int >= 1), or None for fresh ROIs.
        pool_classes: the generator class indices to pool (the only ones :meth:`take` then serves).
        pool_seed: seed of the pool's latents.

    Raises:
        ValueError: ``pool_size`` neither None nor a positive integer.
        RuntimeError (from :meth:`take`): the filter rejected ``max_rejected`` ROIs of the class in a row and
            accepted none (a pool) or none since the last accepted one (fresh ROIs).
    """

    def __init__(
        self,
        source: GeneratorSource,
        bank_size: int = 64,
        latent_distribution: str = "uniform",
        truncation: float = 1.0,
        sample_filter: SampleFilter | None = None,
        max_rejected: int = 4096,
        pool_size: int | None = None,
        pool_classes: Sequence[int] = (),
        pool_seed: int = 0,
    ):
        self.source = source
        self.bank_size = int(bank_size)
        self.latent_distribution = latent_distribution
        self.truncation = check_truncation(truncation)
        check_latent_distribution(latent_distribution)
        self.sample_filter, self.max_rejected = sample_filter, int(max_rejected)
        self.pool_size, self.pool_seed = check_pool_size(pool_size), int(pool_seed)
        self.stores: dict[int, list[tuple[torch.Tensor, int, int]]] = {}
        self.refills: dict[int, int] = {}
        self.generated: dict[int, int] = {}
        self.accepted: dict[int, int] = {}
        self.pool: dict[
            int, tuple[torch.Tensor, torch.Tensor]
        ] = {}  # class -> (images (P, 1, S, S), latent indices (P,))
        if self.pool_size is None:
            self.warm_up()
        else:
            self.pool = {c: self._fill_pool(c) for c in sorted(set(int(c) for c in pool_classes))}

    def refill_sizes(self) -> list[int]:
        """The batch sizes refills use: 4, 8, ... up to ``bank_size``."""
        sizes = [4]
        while sizes[-1] < self.bank_size:
            sizes.append(min(self.bank_size, sizes[-1] * 2))
        return sizes

    def warm_up(self) -> None:
        """One pass per refill size now, so the CPU kernels are prepared before ``DataLoader`` workers fork: with
        this process's thread count and with one thread, the count PyTorch gives each worker (kernels prepared for
        another thread count are prepared again, 5-7 ms per refill size in every new worker otherwise)."""
        network, threads = self.source.get(), torch.get_num_threads()
        for count in dict.fromkeys((1, threads)):
            torch.set_num_threads(count)
            try:
                for num in self.refill_sizes():
                    run_generator(network, torch.zeros(num, self.source.latent_dim), torch.zeros(num, dtype=torch.long))
            finally:
                torch.set_num_threads(threads)

    def _count(self, class_index: int, generated: int, accepted: int) -> None:
        self.generated[class_index] = self.generated.get(class_index, 0) + generated
        self.accepted[class_index] = self.accepted.get(class_index, 0) + accepted

    def _synthesize(self, class_index: int, indices: range, seed: int) -> torch.Tensor:
        return synthesize(self.source.get(), class_index, indices, seed, self.latent_distribution, self.truncation)

    def _check_rejected(self, class_index: int, rejected: int) -> None:
        if rejected >= self.max_rejected:
            raise RuntimeError(
                f"the sample filter rejected {rejected} synthetic ROIs of generator class "
                f"{class_index} in a row; lower its threshold or drop the filter for that class"
            )

    def _fill_pool(self, class_index: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(images (P, 1, S, S), their latent indices (P,)) of ``class_index``: P = ``pool_size``, or fewer (with a
        warning) when the filter rejected ``max_rejected`` candidates in a row."""
        found = accepted_candidates(
            lambda ks: self._synthesize(class_index, ks, self.pool_seed),
            self.sample_filter,
            class_index,
            self.pool_size,
            self.bank_size,
            self.max_rejected,
        )
        self._count(class_index, found.generated, found.accepted)
        if len(found.indices) < self.pool_size:
            logger.warning(
                f"the sample filter rejected {found.rejected} synthetic ROIs of generator class {class_index} "
                f"in a row: its pool holds {len(found.indices)} of {self.pool_size}"
            )
        return found.images, found.indices

    def _refill(self, class_index: int, seed: int) -> None:
        sizes = self.refill_sizes()
        num = sizes[min(self.refills.get(class_index, 0), len(sizes) - 1)]
        self.refills[class_index] = self.refills.get(class_index, 0) + 1
        images = self._synthesize(class_index, range(num), seed)
        keep = (
            torch.ones(num, dtype=torch.bool) if self.sample_filter is None else self.sample_filter(images, class_index)
        )
        self._count(class_index, num, int(keep.sum()))
        self.stores[class_index] = [(images[k], seed, k) for k in range(num - 1, -1, -1) if keep[k]]

    def take(self, class_index: int, rng: np.random.RandomState) -> tuple[torch.Tensor, int, int]:
        """One ROI of ``class_index``: (image (1, S, S) in [-1, 1], latent seed, latent index)."""
        if self.pool_size is not None:
            if class_index not in self.pool:
                raise KeyError(f"generator class {class_index} is not pooled (pooled: {sorted(self.pool)})")
            images, indices = self.pool[class_index]
            if len(indices) == 0:  # the filter accepted nothing while the pool was filled
                self._check_rejected(class_index, self.max_rejected)
            k = int(rng.randint(len(indices)))
            return images[k], self.pool_seed, int(indices[k])
        rejected = 0
        while not self.stores.get(class_index):
            before = self.generated.get(class_index, 0)
            self._refill(class_index, int(rng.randint(0, 2**31 - 1)))
            rejected += self.generated[class_index] - before
            if not self.stores[class_index]:
                self._check_rejected(class_index, rejected)
        return self.stores[class_index].pop()

    def acceptance_rates(self) -> dict[int, float]:
        """{generator class index: accepted / generated} over the refills so far (1.0 without a filter)."""
        return {c: self.accepted[c] / n for c, n in self.generated.items() if n}


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
            every replacement, generated in the workers (11-15% of a small CPU pipeline's throughput with
            workers started afresh every epoch; docs/augmentation.md).
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


def check_pool_size(pool_size: int | None) -> int | None:
    """``pool_size`` as an int >= 1, or None; ``ValueError`` naming the value otherwise."""
    if pool_size is None:
        return None
    if isinstance(pool_size, bool) or not isinstance(pool_size, (int, np.integer)) or pool_size < 1:
        raise ValueError(f"pool_size must be a positive integer or None (fresh ROIs), got {pool_size!r}")
    return int(pool_size)


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


class SyntheticROIAugmentd(RandomizableTransform, MapTransform):
    """Dictionary version: replaces ``keys`` images and keeps ``label_key`` consistent.

    Args:
        keys: image keys (all replaced by the same synthetic ROI's class; normally one key).
        label_key: the label entry (int, one-hot or class name).
        generator, prob, class_names, generator_classes, intensity_range, bank_size, device,
            latent_distribution, truncation, sample_filter, max_synthetic_share, pool_size, pool_seed: as for
            :class:`SyntheticROIAugment`.
        class_map: {pipeline class name: generator class name} to synthesize another class for a sample (e.g.
            ``{"normal": "architectural_distortion"}``); the label is rewritten to the new class.
        target_distribution: {class name: weight}; when set, the class of each synthetic ROI is drawn from it
            (normalised) instead of the sample's own, and the label rewritten.
        allow_missing_keys: as in MONAI.
    """

    backend = SyntheticROIAugment.backend

    def __init__(
        self,
        keys: KeysCollection,
        generator: str | nn.Module | GeneratorSource,
        label_key: str = "label",
        prob: float = 0.5,
        class_names: Sequence[str] = ABNORMALITY_CLASSES,
        generator_classes: Sequence[str] = ABNORMALITY_CLASSES,
        class_map: Mapping[str, str] | None = None,
        target_distribution: Mapping[str, float] | None = None,
        intensity_range: tuple[float, float] = (-1.0, 1.0),
        bank_size: int = 64,
        device="cpu",
        latent_distribution: str = "uniform",
        truncation: float = 1.0,
        sample_filter: SampleFilter | None = None,
        max_synthetic_share: float | None = None,
        pool_size: int | None = DEFAULT_POOL_SIZE,
        pool_seed: int = 0,
        allow_missing_keys: bool = False,
    ):
        MapTransform.__init__(self, keys, allow_missing_keys)
        RandomizableTransform.__init__(self, prob)
        names = list(class_names)
        self.label_key = label_key
        self.class_map = dict(class_map or {})
        check_class_map(self.class_map, names, generator_classes)
        self.target = target_classes(target_distribution, names, generator_classes)
        reachable = (
            [names[c] for c, w in zip(*self.target) if w > 0]
            if self.target is not None
            else [self.class_map.get(name, name) for name in names]
        )
        self.augment = SyntheticROIAugment(
            generator,
            1.0,
            class_names,
            generator_classes,
            intensity_range,
            bank_size,
            device,
            latent_distribution,
            truncation,
            sample_filter,
            max_synthetic_share,
            pool_size,
            pool_seed,
            pool_classes=reachable,
        )

    def set_random_state(self, seed: int | None = None, state: np.random.RandomState | None = None):
        super().set_random_state(seed, state)
        self.augment.set_random_state(state=self.R)
        return self

    def _target_class(self, own: int) -> int:
        if self.target is not None:
            classes, weights = self.target
            return int(classes[self.R.choice(len(classes), p=weights)])
        name = self.class_map.get(self.augment.class_names[own])
        return own if name is None else self.augment.class_names.index(name)

    def __call__(self, data: Mapping[Hashable, object]) -> dict:
        d = dict(data)
        for key in self.key_iterator(d):
            check_single_roi(d[key])
        self.randomize(None)
        own = self.augment.labels.index(d[self.label_key])
        target = self._target_class(own) if self._do_transform else own
        replace = self._do_transform and self.augment.class_names[target] in self.augment.generator_classes
        replace = replace and self.augment.allows(target)
        self.augment.record(target if replace else own, replace)
        for key in self.key_iterator(d):
            d[key] = self.augment.synthetic_like(d[key], target) if replace else mark_real(d[key])
        if replace and target != own:
            d[self.label_key] = self.augment.labels.relabel(d[self.label_key], target)
        return d

    def acceptance_rates(self) -> dict[str, float]:
        """See :meth:`SyntheticROIAugment.acceptance_rates`."""
        return self.augment.acceptance_rates()


def check_class_map(class_map: Mapping[str, str], class_names: Sequence[str], generator_classes: Sequence[str]) -> None:
    """``ValueError`` unless every entry maps a pipeline class to a class both the pipeline and the generator know."""
    known = set(class_names)
    for source, target in class_map.items():
        if source not in known or target not in generator_classes or target not in known:
            raise ValueError(
                f"class_map entry {source!r} -> {target!r}: names must be pipeline classes "
                f"{sorted(known)} and the target a generator class {list(generator_classes)}; "
                "to map 'normal', pass class_names=ALL_CLASSES (monai_roigan.data)"
            )


def target_classes(
    target_distribution: Mapping[str, float] | None, class_names: Sequence[str], generator_classes: Sequence[str]
) -> tuple[list[int], np.ndarray] | None:
    """(pipeline class indices, normalised weights) of ``target_distribution``, or None; ``ValueError`` for classes
    the pipeline or the generator does not know, or weights that are negative or sum to 0."""
    if target_distribution is None:
        return None
    unknown = [c for c in target_distribution if c not in generator_classes or c not in class_names]
    weights = np.array([float(w) for w in target_distribution.values()])
    if unknown or (weights < 0).any() or weights.sum() <= 0:
        raise ValueError(
            f"target_distribution {dict(target_distribution)}: unknown classes {unknown} "
            "or weights that are negative or sum to 0"
        )
    return [list(class_names).index(c) for c in target_distribution], weights / weights.sum()


def balancing_distribution(
    class_counts: Mapping[str, int], prob: float | None = None
) -> tuple[float, dict[str, float]]:
    """``(prob, target_distribution)`` for :class:`SyntheticROIAugmentd` that makes the classes a pipeline sees
    equally frequent on average (the *balance mode*).

    A sample of class ``c`` (share ``n_c / N``) is replaced with probability ``prob`` by a synthetic ROI of a
    class drawn from ``t``; the expected share of class ``c`` afterwards is ``(1 - prob) n_c / N + prob t_c``.
    Setting it to ``1 / K`` gives ``t_c = (1 / K - (1 - prob) n_c / N) / prob``, which needs
    ``prob >= 1 - N / (K max_c n_c)``; that smallest ``prob`` (fewest real ROIs replaced) is the default.

    Args:
        class_counts: {class name: number of real training ROIs}; every class must be a generator class.
        prob: replacement probability; None for the smallest that balances.

    Raises:
        ValueError: no ROIs, a negative count, or a ``prob`` too small to balance.
    """
    names, counts = list(class_counts), np.array([float(c) for c in class_counts.values()])
    if len(names) == 0 or (counts < 0).any() or counts.sum() <= 0:
        raise ValueError(f"class counts must be non-negative and not all 0, got {dict(class_counts)}")
    shares, k = counts / counts.sum(), len(names)
    needed = max(0.0, float(1.0 - 1.0 / (k * shares.max())))
    prob = needed if prob is None else float(prob)
    if prob < needed - 1e-12 or not 0 <= prob <= 1:
        raise ValueError(f"prob {prob} cannot balance {dict(class_counts)}; it must be in [{needed:.3f}, 1]")
    if prob < 1e-12:  # already balanced
        return 0.0, {name: 1.0 / k for name in names}
    target = np.clip((1.0 / k - (1.0 - prob) * shares) / prob, 0.0, None)
    return float(prob), {name: float(t) for name, t in zip(names, target / target.sum())}
