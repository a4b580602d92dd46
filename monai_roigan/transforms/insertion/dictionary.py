"""``InsertSyntheticLesiond``: the dictionary twin of
:class:`~monai_roigan.transforms.insertion.array.InsertSyntheticLesion`, which turns normal-tissue ROIs into ROIs of
a lesion class and rewrites the label."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

import numpy as np
from monai.config import KeysCollection
from monai.transforms import MapTransform, RandomizableTransform
from torch import nn

from monai_roigan.data.classes import ABNORMALITY_CLASSES, ALL_CLASSES, NORMAL_CLASS
from monai_roigan.networks.source import GeneratorSource
from monai_roigan.transforms.insertion.array import InsertSyntheticLesion
from monai_roigan.transforms.labels import ClassLabels
from monai_roigan.transforms.synthetic.array import check_single_roi, mark_real

__all__ = ["InsertSyntheticLesiond", "InsertSyntheticLesionD", "InsertSyntheticLesionDict"]


class InsertSyntheticLesiond(RandomizableTransform, MapTransform):
    """Dictionary version: turns ROIs of ``source_classes`` (normal tissue) into ROIs of a lesion class.

    With probability ``prob``, a sample whose label is one of ``source_classes`` gets a synthetic lesion of a class
    drawn from ``target_distribution`` inserted (:class:`InsertSyntheticLesion`) and its label rewritten to that class
    (in the form it came in: int, one-hot or name). Other samples pass unchanged (meta ``synthetic=False``).

    Args:
        keys: image keys (normally one; all get the same lesion).
        generator: a context generator (see :class:`InsertSyntheticLesion`).
        label_key: the label entry.
        prob: probability of inserting into a source-class sample.
        class_names: the pipeline's classes in label order (default: the four abnormality classes, then normal).
        source_classes: classes whose samples receive lesions (default ``("normal",)``).
        target_distribution: {class name: weight} of the inserted classes; default uniform over the generator's
            classes that are pipeline classes.
        mask_key: an entry holding a (1, S, S) mask in [0, 1] of the region to fill (None: ``mask_shape``'s).
        generator_classes, intensity_range, device, latent_distribution, truncation, mask_shape, blend_modes: as for
            :class:`InsertSyntheticLesion`.
        allow_missing_keys: as in MONAI.

    Raises:
        ValueError: unknown class names, a target class the generator or the pipeline does not know, weights that
            are negative or sum to 0 (and the errors of :class:`InsertSyntheticLesion`).
    """

    backend = InsertSyntheticLesion.backend

    def __init__(
        self,
        keys: KeysCollection,
        generator: str | nn.Module | GeneratorSource,
        label_key: str = "label",
        prob: float = 0.5,
        class_names: Sequence[str] = ALL_CLASSES,
        source_classes: Sequence[str] = (NORMAL_CLASS,),
        target_distribution: Mapping[str, float] | None = None,
        mask_key: str | None = None,
        generator_classes: Sequence[str] = ABNORMALITY_CLASSES,
        intensity_range: tuple[float, float] = (-1.0, 1.0),
        device="cpu",
        latent_distribution: str = "uniform",
        truncation: float = 1.0,
        mask_shape: str = "disc",
        blend_modes: Sequence[str] = ("feathered",),
        allow_missing_keys: bool = False,
    ):
        MapTransform.__init__(self, keys, allow_missing_keys)
        RandomizableTransform.__init__(self, prob)
        self.inserter = InsertSyntheticLesion(
            generator=generator,
            lesion_class=None,
            prob=1.0,
            generator_classes=generator_classes,
            intensity_range=intensity_range,
            device=device,
            latent_distribution=latent_distribution,
            truncation=truncation,
            mask_shape=mask_shape,
            blend_modes=blend_modes,
        )
        if mask_key is not None and mask_shape != "disc":
            raise ValueError(f"mask_key {mask_key!r} gives the mask; mask_shape {mask_shape!r} would be ignored")
        self.labels = ClassLabels(class_names)
        self.label_key = label_key
        self.mask_key = mask_key
        unknown = [c for c in source_classes if c not in self.labels.class_names]
        if unknown:
            raise ValueError(f"source_classes {unknown} are not among class_names {self.labels.class_names}")
        self.sources = {self.labels.index(c) for c in source_classes}
        known = [c for c in generator_classes if c in self.labels.class_names]
        weights = dict(target_distribution or {c: 1.0 for c in known})
        values = np.array([float(w) for w in weights.values()])
        wrong = [c for c in weights if c not in known]
        if wrong or not weights or (values < 0).any() or values.sum() <= 0:
            raise ValueError(
                f"target_distribution {weights}: classes {wrong} are not both generator classes "
                f"{list(generator_classes)} and pipeline classes, or weights are negative or sum to 0"
            )
        self.targets, self.weights = list(weights), values / values.sum()

    def set_random_state(self, seed: int | None = None, state: np.random.RandomState | None = None):
        super().set_random_state(seed, state)
        self.inserter.set_random_state(state=self.R)
        return self

    def __call__(self, data: Mapping[Hashable, object]) -> dict:
        d = dict(data)
        for key in self.key_iterator(d):
            check_single_roi(d[key])
        self.randomize(None)
        own = self.labels.index(d[self.label_key])
        if not (self._do_transform and own in self.sources):
            for key in self.key_iterator(d):
                d[key] = mark_real(d[key])
            return d
        target = self.targets[int(self.R.choice(len(self.targets), p=self.weights))]
        class_index, seed = self.inserter.generator_classes.index(target), int(self.R.randint(0, 2**31 - 1))
        drawn, mode = self.inserter.randomize_blend()
        mask = drawn if self.mask_key is None else d[self.mask_key]
        for key in self.key_iterator(d):
            d[key] = self.inserter.insert(d[key], class_index, seed, mask, f"mask {self.mask_key!r}", mode)
        d[self.label_key] = self.labels.relabel(d[self.label_key], self.labels.index(target))
        return d


InsertSyntheticLesionD = InsertSyntheticLesionDict = InsertSyntheticLesiond
