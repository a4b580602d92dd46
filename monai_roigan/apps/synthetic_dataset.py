"""``SyntheticBalancedDataset``: top up the minority classes of an ROI dataset with synthetic ROIs.

One line balances a dataset: ``SyntheticBalancedDataset(rois, "bundle")`` appends, for every class the
generator knows, synthetic ROIs until each class has as many samples as the largest one
(``target="balanced"``), or as many as a mapping ``{class name: count}`` asks for. Items ``0..len(data)-1``
are the real ones; the rest are synthetic, made in batches of ``batch_size`` and cached per process.
Synthetic ROI ``k`` of class ``c`` always comes from the latent
:func:`latent_for(seed, c, k) <monai_roigan.networks.sampling.latent_for>`, so an index gives
the same image in every worker, every epoch and every run with the same seed.

The wrapped data yields loaded ROIs (``image`` tensors (C, H, W) in ``intensity_range``): a datalist from
:func:`~monai_roigan.data.roi_cache_datalist`, or a MONAI ``Dataset`` / ``CacheDataset`` whose transforms load
and cut the ROIs (``Compose([LoadMammogramd("image"), ExtractROId("image")])``). Class counts are read from
the items before their transforms when every item carries the label (a MONAI dataset's ``.data``), so a
large dataset is not loaded twice; otherwise from the loaded items. ``transform`` (for instance random flips)
is applied to real and synthetic items alike.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence

import torch
from monai.data import MetaTensor
from torch import nn
from torch.utils.data import Dataset

from monai_roigan.data.classes import ABNORMALITY_CLASSES
from monai_roigan.networks.pool import SampleFilter, accepted_candidates
from monai_roigan.networks.sampling import check_truncation, fit_to_pipeline, synthesize
from monai_roigan.networks.source import GeneratorSource, as_generator_source
from monai_roigan.transforms.labels import ClassLabels
from monai_roigan.transforms.synthetic import check_share, mark_real, synthetic_meta

__all__ = ["SyntheticBalancedDataset"]

logger = logging.getLogger("monai_roigan.synthetic_dataset")


class SyntheticBalancedDataset(Dataset):
    """Real ROIs followed by synthetic ROIs that bring each class to its target count.

    Args:
        data: sequence (list or Dataset) of dicts with ``image_key`` and ``label_key``.
        generator: bundle folder, weights/checkpoint file, nn.Module or :class:`GeneratorSource`.
        target: ``"balanced"`` (every generator class up to the largest class's count) or {class name: count}.
        label_key, image_key: dict keys.
        class_names, generator_classes, intensity_range, device, latent_distribution, truncation: as for
            :class:`~monai_roigan.transforms.SyntheticROIAugment`.
        seed: seed of the synthetic latents.
        spatial_size: (H, W) of synthetic ROIs; default: the shape of the first real image.
        batch_size: synthetic ROIs generated per batch.
        transform: applied to every item (real and synthetic), or None.
        sample_filter: keep only synthetic ROIs it accepts (e.g. :class:`~monai_roigan.apps.ConfidenceFilter`):
            candidates ``k = 0, 1, 2, ...`` of each class are generated in batches and the accepted ones fill the
            plan, so item ``i`` is still the same image in every run; :meth:`acceptance_rates` reports the shares.
        max_synthetic_share: at most this share in (0, 1] of a class's items are synthetic (the top-up stops
            there); None: no cap.
        max_rejected: when this many candidates of one class are rejected in a row, the class keeps the accepted
            ones found so far (fewer than its target; a warning says how many) and the top-up moves on.
    """

    def __init__(
        self,
        data: Sequence[Mapping],
        generator: str | nn.Module | GeneratorSource,
        target: str | Mapping[str, int] = "balanced",
        label_key: str = "label",
        image_key: str = "image",
        class_names: Sequence[str] = ABNORMALITY_CLASSES,
        generator_classes: Sequence[str] = ABNORMALITY_CLASSES,
        intensity_range: tuple[float, float] = (-1.0, 1.0),
        seed: int = 0,
        spatial_size: Sequence[int] | None = None,
        batch_size: int = 64,
        device="cpu",
        latent_distribution: str = "uniform",
        truncation: float = 1.0,
        transform: Callable | None = None,
        sample_filter: SampleFilter | None = None,
        max_synthetic_share: float | None = None,
        max_rejected: int = 4096,
    ):
        if len(data) == 0:
            raise ValueError("SyntheticBalancedDataset needs at least one real item")
        self.data = data
        self.label_key = label_key
        self.image_key = image_key
        self.transform = transform
        self.labels, self.generator_classes = ClassLabels(class_names), list(generator_classes)
        self.source = as_generator_source(generator, len(self.generator_classes), device)
        self.intensity_range = (float(intensity_range[0]), float(intensity_range[1]))
        self.seed = int(seed)
        self.batch_size = int(batch_size)
        self.latent_distribution = latent_distribution
        self.truncation = check_truncation(truncation)
        self.sample_filter, self.max_rejected = sample_filter, int(max_rejected)
        self.max_synthetic_share = check_share(max_synthetic_share)
        self.generated: dict[str, int] = {}
        self.accepted: dict[str, int] = {}
        self._chunks: dict[tuple[int, int], torch.Tensor] = {}
        first_item = data[0]  # loaded: the template image
        self.label_form = first_item[label_key]
        counts = Counter(self.labels.index(label) for label in self._real_labels())
        self.plan = self._plan(counts, target)  # [(pipeline class index, k)] for the synthetic items
        first = first_item[image_key]
        self.spatial_size = tuple(spatial_size or tuple(first.shape[1:]))
        self.channels = int(first.shape[0])
        self.template = first  # its meta keys, provenance blanked, go on synthetic items (batches collate)

    def _plan(self, counts: Counter, target) -> list[tuple[int, int]]:
        names = self.labels.class_names
        if target == "balanced":
            goal = dict.fromkeys((c for c in self.generator_classes if c in names), max(counts.values()))
        elif isinstance(target, Mapping):
            unknown = [c for c in target if c not in names or c not in self.generator_classes]
            if unknown:
                raise ValueError(f"target names classes the generator or the pipeline does not know: {unknown}")
            goal = {c: int(n) for c, n in target.items()}
        else:
            raise ValueError(f"target must be 'balanced' or a mapping of class name to count, got {target!r}")
        plan = []
        for name, count in goal.items():
            index = names.index(name)
            real = counts.get(index, 0)
            wanted = max(0, count - real)
            if self.max_synthetic_share is not None and self.max_synthetic_share < 1:
                wanted = min(wanted, int(self.max_synthetic_share * real / (1 - self.max_synthetic_share) + 1e-9))
            plan += [(index, k) for k in self._accepted_indices(index, wanted)]
        return plan

    def _accepted_indices(self, class_index: int, wanted: int) -> list[int]:
        """The first ``wanted`` candidate indices of ``class_index`` that the sample filter accepts (all without
        one)."""
        if self.sample_filter is None or wanted == 0:
            return list(range(wanted))
        name = self.labels.class_names[class_index]
        found = accepted_candidates(
            lambda ks: self._chunk(class_index, ks.start // self.batch_size),
            self.sample_filter,
            self.generator_classes.index(name),
            wanted,
            self.batch_size,
            self.max_rejected,
        )
        self.generated[name] = self.generated.get(name, 0) + found.generated
        self.accepted[name] = self.accepted.get(name, 0) + found.accepted
        if len(found.indices) < wanted:
            logger.warning(
                f"the sample filter rejected {found.rejected} synthetic {name} ROIs in a row: "
                f"{len(found.indices)} of {wanted} kept; lower its threshold for more"
            )
        return found.indices.tolist()

    def acceptance_rates(self) -> dict[str, float]:
        """{class name: share of the generated candidates the sample filter accepted} (empty without a filter)."""
        return {name: self.accepted[name] / n for name, n in self.generated.items() if n}

    def _real_labels(self) -> list:
        """The real items' labels: from the items before their transforms when they all carry one."""
        raw = getattr(self.data, "data", None)  # a MONAI Dataset's items before its transforms
        labelled = raw is not None and len(raw) == len(self.data)
        if labelled and all(isinstance(item, Mapping) and self.label_key in item for item in raw):
            return [item[self.label_key] for item in raw]
        return [self.data[i][self.label_key] for i in range(len(self.data))]

    def class_counts(self) -> dict[str, int]:
        """Samples per class name after the top-up (real + synthetic)."""
        counts = Counter(self.labels.class_names[self.labels.index(label)] for label in self._real_labels())
        counts.update(self.labels.class_names[c] for c, _ in self.plan)
        return dict(counts)

    def __len__(self) -> int:
        return len(self.data) + len(self.plan)

    def _chunk(self, class_index: int, chunk: int) -> torch.Tensor:
        key = (class_index, chunk)
        if key not in self._chunks:
            gen_class = self.generator_classes.index(self.labels.class_names[class_index])
            ks = range(chunk * self.batch_size, (chunk + 1) * self.batch_size)
            self._chunks[key] = synthesize(
                self.source.get(), gen_class, ks, self.seed, self.latent_distribution, self.truncation
            )
        return self._chunks[key]

    def synthetic_item(self, position: int) -> dict:
        """Synthetic item ``position`` (0-based among the synthetic ones)."""
        class_index, k = self.plan[position]
        roi = self._chunk(class_index, k // self.batch_size)[k % self.batch_size]
        roi = fit_to_pipeline(roi, self.intensity_range, self.spatial_size, self.channels)
        name = self.labels.class_names[class_index]
        meta = synthetic_meta(self.template, name, self.source.describe(), self.seed, k)
        return {
            self.image_key: MetaTensor(roi, meta=meta),
            self.label_key: self.labels.relabel(self.label_form, class_index),
        }

    def __getitem__(self, index: int) -> dict:
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} items")
        index %= len(self)
        if index < len(self.data):
            item = dict(self.data[index])
            item[self.image_key] = mark_real(item[self.image_key])
        else:
            item = self.synthetic_item(index - len(self.data))
        return self.transform(item) if self.transform is not None else item
