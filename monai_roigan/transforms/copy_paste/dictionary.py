"""``CopyPasteLesiond``: the dictionary twin of :class:`~monai_roigan.transforms.copy_paste.array.CopyPasteLesion`,
which turns normal-tissue ROIs into ROIs of a lesion class and rewrites the label."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

import numpy as np
from monai.config import KeysCollection
from monai.transforms import MapTransform, RandomizableTransform

from monai_roigan.data.classes import ALL_CLASSES, NORMAL_CLASS
from monai_roigan.transforms.copy_paste.array import CopyPasteLesion, mark_unpasted
from monai_roigan.transforms.labels import ClassLabels

__all__ = ["CopyPasteLesiond", "CopyPasteLesionD", "CopyPasteLesionDict"]


class CopyPasteLesiond(RandomizableTransform, MapTransform):
    """Dictionary version: turns ROIs of ``source_classes`` (normal tissue) into ROIs of a lesion class.

    With probability ``prob``, a sample whose label is one of ``source_classes`` gets a real lesion of a class drawn
    from ``target_distribution`` pasted in (:class:`CopyPasteLesion`), and its label is rewritten to that class (in
    the form it came in: int, one-hot or name). Other samples pass unchanged (meta ``pasted=False``).

    Args:
        keys: image keys (normally one).
        lesions: the lesion bank: dicts with ``image`` (C, S, S) and ``label`` (int, one-hot or class name), e.g. the
            real training ROIs of the rare classes; optional ``id`` (the ROI id written to meta, default
            ``"<class>-<k>"``). Never put patient paths in ``id``.
        label_key: the label entry.
        prob: probability of pasting into a source-class sample.
        class_names: the pipeline's classes in label order (default: the four abnormality classes, then normal).
        source_classes: classes whose samples receive lesions (default ``("normal",)``).
        target_distribution: {class name: weight} of the pasted classes; default: uniform over the bank's classes.
        allow_missing_keys: as in MONAI.
        paste_options: ``inner``, ``outer``, ``flip``, ``rotate``, ``scale_range``, ``contrast_range``,
            ``radius_range``, ``intensity_match``, ``mask_shape`` and ``blend_modes`` of :class:`CopyPasteLesion`.

    Raises:
        ValueError: an empty bank, unknown class names, or a target class without a lesion in the bank.
    """

    backend = CopyPasteLesion.backend
    #: the array transform that moves a lesion into a sample (subclasses: another way of moving it)
    paster_class = CopyPasteLesion

    def __init__(
        self,
        keys: KeysCollection,
        lesions: Sequence[Mapping],
        label_key: str = "label",
        prob: float = 0.5,
        class_names: Sequence[str] = ALL_CLASSES,
        source_classes: Sequence[str] = (NORMAL_CLASS,),
        target_distribution: Mapping[str, float] | None = None,
        allow_missing_keys: bool = False,
        **paste_options,
    ):
        MapTransform.__init__(self, keys, allow_missing_keys)
        RandomizableTransform.__init__(self, prob)
        self.labels, self.label_key = ClassLabels(class_names), label_key
        unknown = [c for c in source_classes if c not in self.labels.class_names]
        if unknown:
            raise ValueError(f"source_classes {unknown} are not among class_names {self.labels.class_names}")
        self.sources = {self.labels.index(c) for c in source_classes}
        classes = [self.labels.index(item["label"]) for item in lesions]
        ids = [
            str(item.get("id", f"{self.labels.class_names[c]}-{k}"))
            for k, (item, c) in enumerate(zip(lesions, classes))
        ]
        self.paster = self.paster_class(
            lesions=[item["image"] for item in lesions], lesion_ids=ids, prob=1.0, **paste_options
        )
        self.by_class = {c: [k for k, own in enumerate(classes) if own == c] for c in sorted(set(classes))}
        weights = target_distribution or {self.labels.class_names[c]: 1.0 for c in self.by_class}
        targets = [self.labels.index(name) for name in weights]
        missing = [self.labels.class_names[c] for c in targets if c not in self.by_class]
        values = np.array([float(w) for w in weights.values()])
        if missing or (values < 0).any() or values.sum() <= 0:
            raise ValueError(
                f"target_distribution {dict(weights)}: classes without lesions in the bank {missing}, or "
                "weights that are negative or sum to 0"
            )
        self.targets, self.weights = targets, values / values.sum()

    def set_random_state(self, seed: int | None = None, state: np.random.RandomState | None = None):
        super().set_random_state(seed, state)
        self.paster.set_random_state(state=self.R)
        return self

    def __call__(self, data: Mapping[Hashable, object]) -> dict:
        d = dict(data)
        self.randomize(None)
        own = self.labels.index(d[self.label_key])
        if not (self._do_transform and own in self.sources):
            for key in self.key_iterator(d):
                d[key] = mark_unpasted(d[key])
            return d
        target = int(self.targets[self.R.choice(len(self.targets), p=self.weights)])
        lesion = self.by_class[target][int(self.R.randint(len(self.by_class[target])))]
        for key in self.key_iterator(d):
            self.paster.where = f"key {key!r}"
            d[key] = self.paster.paste(d[key], lesion)
            d[key].meta["pasted_class"] = self.labels.class_names[target]
        d[self.label_key] = self.labels.relabel(d[self.label_key], target)
        return d


CopyPasteLesionD = CopyPasteLesionDict = CopyPasteLesiond
