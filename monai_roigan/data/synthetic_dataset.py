"""``SyntheticBalancedDataset``: top up the minority classes of an ROI dataset with synthetic ROIs.

One line balances a dataset: ``SyntheticBalancedDataset(rois, "bundle")`` appends, for every class the
generator knows, synthetic ROIs until each class has as many samples as the largest one
(``target="balanced"``), or as many as a mapping ``{class name: count}`` asks for. Items ``0..len(data)-1``
are the real ones; the rest are synthetic, made in batches of ``batch_size`` and cached per process.
Synthetic ROI ``k`` of class ``c`` always comes from the latent ``latent_for(seed, c, k)``, so an index gives
the same image in every worker, every epoch and every run with the same seed.

The wrapped data must hold loaded ROIs (``image`` tensors (C, H, W) in ``intensity_range``), e.g. a datalist
from :func:`~monai_roigan.data.roi_cache_datalist` or a ``CacheDataset`` of loaded ROIs; ``transform`` (for
instance random flips) is applied to real and synthetic items alike.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import torch
from monai.data import MetaTensor
from monai.transforms import Resize
from torch import nn
from torch.utils.data import Dataset

from monai_roigan.data.classes import ABNORMALITY_CLASSES
from monai_roigan.engines.generation import check_truncation, latent_for
from monai_roigan.networks.source import GeneratorSource
from monai_roigan.transforms.synthetic import SyntheticROIAugment, mark_real, synthetic_meta

__all__ = ["SyntheticBalancedDataset"]


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
    ):
        if len(data) == 0:
            raise ValueError("SyntheticBalancedDataset needs at least one real item")
        self.data, self.label_key, self.image_key, self.transform = data, label_key, image_key, transform
        self.labels = SyntheticROIAugment(generator, 1.0, class_names, generator_classes, intensity_range,
                                          device=device, latent_distribution=latent_distribution)  # fmt: skip
        self.seed, self.batch_size, self.latent_distribution = int(seed), int(batch_size), latent_distribution
        self.truncation = check_truncation(truncation)
        raw = getattr(data, "data", data)  # a MONAI Dataset's items before its transforms
        self.label_form = raw[0][label_key]
        counts = Counter(self.labels.class_index(item[label_key]) for item in raw)
        self.plan = self._plan(counts, target)  # [(pipeline class index, k)] for the synthetic items
        first = raw[0][image_key]
        self.spatial_size = tuple(spatial_size or tuple(first.shape[1:]))
        self.channels = int(first.shape[0])
        self.template = first  # its meta keys, provenance blanked, go on synthetic items (batches collate)
        self._chunks: dict[tuple[int, int], torch.Tensor] = {}

    def _plan(self, counts: Counter, target) -> list[tuple[int, int]]:
        names = self.labels.class_names
        if target == "balanced":
            goal = dict.fromkeys((c for c in self.labels.generator_classes if c in names), max(counts.values()))
        elif isinstance(target, Mapping):
            unknown = [c for c in target if c not in names or c not in self.labels.generator_classes]
            if unknown:
                raise ValueError(f"target names classes the generator or the pipeline does not know: {unknown}")
            goal = {c: int(n) for c, n in target.items()}
        else:
            raise ValueError(f"target must be 'balanced' or a mapping of class name to count, got {target!r}")
        plan = []
        for name, count in goal.items():
            index = names.index(name)
            plan += [(index, k) for k in range(max(0, count - counts.get(index, 0)))]
        return plan

    def class_counts(self) -> dict[str, int]:
        """Samples per class name after the top-up (real + synthetic)."""
        raw = getattr(self.data, "data", self.data)
        counts = Counter(self.labels.class_names[self.labels.class_index(i[self.label_key])] for i in raw)
        counts.update(self.labels.class_names[c] for c, _ in self.plan)
        return dict(counts)

    def __len__(self) -> int:
        return len(self.data) + len(self.plan)

    @torch.no_grad()
    def _chunk(self, class_index: int, chunk: int) -> torch.Tensor:
        key = (class_index, chunk)
        if key not in self._chunks:
            network = self.labels.source.get()
            device = next(network.parameters()).device
            gen_class = self.labels.generator_classes.index(self.labels.class_names[class_index])
            ks = range(chunk * self.batch_size, (chunk + 1) * self.batch_size)
            args = (network.latent_dim, self.latent_distribution, self.truncation)
            z = torch.stack([latent_for(self.seed, gen_class, k, *args) for k in ks])
            labels = torch.full((len(z),), gen_class, dtype=torch.long, device=device)
            self._chunks[key] = network(z.to(device), labels).float().cpu()
        return self._chunks[key]

    def synthetic_item(self, position: int) -> dict:
        """Synthetic item ``position`` (0-based among the synthetic ones)."""
        class_index, k = self.plan[position]
        roi = self._chunk(class_index, k // self.batch_size)[k % self.batch_size]
        low, high = self.labels.intensity_range
        roi = low + (roi + 1.0) * 0.5 * (high - low)
        if tuple(roi.shape[1:]) != self.spatial_size:
            roi = torch.as_tensor(Resize(self.spatial_size, mode="area")(roi))
        roi = roi.expand(self.channels, *self.spatial_size).clone()
        name = self.labels.class_names[class_index]
        meta = synthetic_meta(self.template, name, self.labels.source.describe(), self.seed, k)
        return {self.image_key: MetaTensor(roi, meta=meta), self.label_key: self.labels.relabel(self.label_form, class_index)}

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
