"""``CopyPasteLesion`` / ``CopyPasteLesiond``: paste a real lesion into a real tissue ROI, with no training at all.

The baseline every generator must beat: a real lesion ROI of the wanted class is jittered (left-right flip,
90-degree rotation, scale about its centre, contrast), placed on the local background level of a real
normal-tissue ROI, and blended into it through a soft circular mask centred on the ROI:

``out = mask * lesion' + (1 - mask) * tissue``, ``mask`` = 1 within ``inner`` of the half-width, falling as a
raised cosine to 0 at ``outer`` of the half-width.

So the tissue ROI is left exactly as it was where the mask is 0, and the (jittered) lesion is exactly what is
inside where the mask is 1. The lesion's contrast against its own surroundings is kept (times the contrast
jitter): ``lesion' = tissue ring mean + c * (lesion - lesion ring mean)``, the ring being where the mask falls
from 1 to 0. ROIs are channel-first (C, H, W) in the pipeline's range (the package's ROIs: [-1, 1]); lesion and
tissue ROIs have the same shape.

Randomness comes from ``self.R`` only (``set_random_state``; MONAI seeds each ``DataLoader`` worker), so the same
seed gives the same pasted ROIs. Meta of the output (a MetaTensor): the tissue ROI's meta, plus ``pasted``
(True/False on every sample, so batches collate), ``pasted_class`` and ``pasted_lesion`` (the lesion's ROI id,
never a patient path).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

import numpy as np
import torch
from monai.config import KeysCollection
from monai.data import MetaTensor
from monai.transforms import MapTransform, RandomizableTransform, Zoom
from monai.utils import TransformBackends

from monai_roigan.data.classes import ALL_CLASSES, NORMAL_CLASS
from monai_roigan.transforms.labels import ClassLabels

__all__ = ["CopyPasteLesion", "CopyPasteLesiond", "blend_mask", "mark_unpasted"]


def blend_mask(size: int, inner: float = 0.35, outer: float = 0.6) -> torch.Tensor:
    """(size, size) float32 weights: 1 within ``inner`` of the half-width from the centre, a raised cosine down to 0
    at ``outer`` of the half-width, 0 beyond (0 < inner < outer <= 1)."""
    if not 0 < inner < outer <= 1:
        raise ValueError(f"need 0 < inner < outer <= 1, got inner={inner}, outer={outer}")
    centre = (size - 1) / 2
    yy, xx = np.mgrid[:size, :size]
    r = np.hypot(yy - centre, xx - centre) / (size / 2)
    t = np.clip((r - inner) / (outer - inner), 0, 1)
    return torch.from_numpy((0.5 + 0.5 * np.cos(np.pi * t)).astype(np.float32) * (r < outer))


def mark_unpasted(img):
    """``img`` as a MetaTensor with ``pasted=False`` (so pasted and untouched ROIs collate in one batch)."""
    img = img if isinstance(img, MetaTensor) else MetaTensor(torch.as_tensor(img))
    img.meta.update(pasted=False, pasted_class="", pasted_lesion="")
    return img


class CopyPasteLesion(RandomizableTransform):
    """With probability ``prob``, paste one of ``lesions`` into the ROI it receives (see the module docstring).

    ``__call__(img, lesion_index=None)``: ``img`` (C, H, W) tensor, array or MetaTensor; ``lesion_index`` picks the
    lesion (None: a random one). Returns a MetaTensor like ``img``.

    Args:
        lesions: real lesion ROIs, each (C, H, W) like the ROIs this transform receives.
        lesion_ids: one id per lesion for the meta (default ``"lesion-<k>"``); never a file path of a patient.
        prob: probability of pasting.
        inner, outer: the mask's flat core and outer edge, as fractions of the half-width.
        flip, rotate: jitter by a random left-right flip and a random multiple of 90 degrees.
        scale_range: (low, high) zoom of the lesion about the centre (1, 1: none).
        contrast_range: (low, high) factor on the lesion's contrast against its surroundings.

    Raises:
        ValueError: no lesions, lesions of different shapes, ids of another count, or ranges out of order.
    """

    backend = [TransformBackends.TORCH]

    def __init__(
        self,
        lesions: Sequence,
        lesion_ids: Sequence[str] | None = None,
        prob: float = 1.0,
        inner: float = 0.35,
        outer: float = 0.6,
        flip: bool = True,
        rotate: bool = True,
        scale_range: tuple[float, float] = (0.85, 1.15),
        contrast_range: tuple[float, float] = (0.8, 1.2),
    ):
        RandomizableTransform.__init__(self, prob)
        if len(lesions) == 0:
            raise ValueError("CopyPasteLesion needs at least one lesion ROI")
        self.lesions = [torch.as_tensor(np.asarray(x), dtype=torch.float32) for x in lesions]
        shapes = {tuple(x.shape) for x in self.lesions}
        if len(shapes) != 1 or len(next(iter(shapes))) != 3 or next(iter(shapes))[1] != next(iter(shapes))[2]:
            raise ValueError(f"lesion ROIs must all be (C, S, S) of one shape, got shapes {sorted(shapes)}")
        self.lesion_ids = [f"lesion-{k}" for k in range(len(lesions))] if lesion_ids is None else list(lesion_ids)
        if len(self.lesion_ids) != len(self.lesions):
            raise ValueError(f"{len(self.lesion_ids)} lesion ids for {len(self.lesions)} lesions")
        for name, (low, high) in (("scale_range", scale_range), ("contrast_range", contrast_range)):
            if not 0 < low <= high:
                raise ValueError(f"{name} must be (low, high) with 0 < low <= high, got {(low, high)}")
        self.shape = next(iter(shapes))
        self.mask = blend_mask(self.shape[-1], inner, outer)
        self.ring = (self.mask > 0) & (self.mask < 1)
        self.flip = flip
        self.rotate = rotate
        self.scale_range = scale_range
        self.contrast_range = contrast_range
        self.lesion_index = 0
        self.flipped = False
        self.turns = 0
        self.scale = 1.0
        self.contrast = 1.0

    def _draw_jitter(self, lesion_index: int | None = None) -> None:
        """Draw the lesion (unless given) and its flip, turns, scale and contrast from ``self.R``."""
        self.lesion_index = int(self.R.randint(len(self.lesions))) if lesion_index is None else int(lesion_index)
        self.flipped = bool(self.flip and self.R.rand() < 0.5)
        self.turns = int(self.R.randint(4)) if self.rotate else 0
        self.scale = float(self.R.uniform(*self.scale_range))
        self.contrast = float(self.R.uniform(*self.contrast_range))

    def jittered_lesion(self, tissue: torch.Tensor) -> torch.Tensor:
        """The chosen lesion, flipped, turned, zoomed and contrast-scaled onto ``tissue``'s ring level: (C, S, S)."""
        lesion = self.lesions[self.lesion_index]
        if self.flipped:
            lesion = torch.flip(lesion, dims=(-1,))
        lesion = torch.rot90(lesion, self.turns, dims=(-2, -1))
        if self.scale != 1.0:
            lesion = Zoom(self.scale, mode="bilinear", padding_mode="reflect", keep_size=True)(lesion)
            lesion = lesion.as_tensor() if isinstance(lesion, MetaTensor) else torch.as_tensor(lesion)
        own, target = lesion[:, self.ring].mean(1), tissue[:, self.ring].mean(1)
        return target[:, None, None] + self.contrast * (lesion - own[:, None, None])

    def paste(self, img, lesion_index: int | None = None) -> MetaTensor:
        """Paste now (no coin flip): draws the jitter, blends, and returns a MetaTensor with the ``pasted`` meta."""
        tissue = torch.as_tensor(img.as_tensor() if isinstance(img, MetaTensor) else img, dtype=torch.float32).cpu()
        if tuple(tissue.shape) != self.shape:
            raise ValueError(f"tissue ROI of shape {tuple(tissue.shape)}, the lesions are {self.shape}")
        self._draw_jitter(lesion_index)
        out = self.mask * self.jittered_lesion(tissue) + (1 - self.mask) * tissue
        meta = dict(img.meta) if isinstance(img, MetaTensor) else {}
        meta.update(pasted=True, pasted_lesion=self.lesion_ids[self.lesion_index])
        meta.setdefault("pasted_class", "")
        device = img.device if isinstance(img, torch.Tensor) else "cpu"
        return MetaTensor(out.to(device), meta=meta)

    def __call__(self, img, lesion_index: int | None = None, randomize: bool = True):
        if randomize:
            self.randomize(None)
        return self.paste(img, lesion_index) if self._do_transform else mark_unpasted(img)


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
        paste_options: ``inner``, ``outer``, ``flip``, ``rotate``, ``scale_range``, ``contrast_range`` of
            :class:`CopyPasteLesion`.

    Raises:
        ValueError: an empty bank, unknown class names, or a target class without a lesion in the bank.
    """

    backend = CopyPasteLesion.backend

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
        self.paster = CopyPasteLesion([item["image"] for item in lesions], ids, prob=1.0, **paste_options)
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
            d[key] = self.paster.paste(d[key], lesion)
            d[key].meta["pasted_class"] = self.labels.class_names[target]
        d[self.label_key] = self.labels.relabel(d[self.label_key], target)
        return d
