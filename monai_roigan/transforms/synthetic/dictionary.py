"""``SyntheticROIAugmentd``: the dictionary twin of
:class:`~monai_roigan.transforms.synthetic.array.SyntheticROIAugment`, which can also synthesize another class than
the sample's own (``class_map``, ``target_distribution``) and then rewrites the label; :func:`balancing_distribution`
gives the ``target_distribution`` that balances the classes."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

import numpy as np
from monai.config import KeysCollection
from monai.transforms import MapTransform, RandomizableTransform
from torch import nn

from monai_roigan.data.classes import ABNORMALITY_CLASSES
from monai_roigan.networks.pool import DEFAULT_POOL_SIZE, SampleFilter
from monai_roigan.networks.source import GeneratorSource
from monai_roigan.transforms.synthetic.array import SyntheticROIAugment, check_single_roi, mark_real

__all__ = [
    "SyntheticROIAugmentd",
    "SyntheticROIAugmentD",
    "SyntheticROIAugmentDict",
    "balancing_distribution",
    "check_class_map",
    "target_classes",
]


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
            generator=generator,
            prob=1.0,
            class_names=class_names,
            generator_classes=generator_classes,
            intensity_range=intensity_range,
            bank_size=bank_size,
            device=device,
            latent_distribution=latent_distribution,
            truncation=truncation,
            sample_filter=sample_filter,
            max_synthetic_share=max_synthetic_share,
            pool_size=pool_size,
            pool_seed=pool_seed,
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


SyntheticROIAugmentD = SyntheticROIAugmentDict = SyntheticROIAugmentd
