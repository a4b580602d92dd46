"""``NormalCounterpartd``: the dictionary twin of
:class:`~monai_roigan.transforms.counterpart.array.NormalCounterpart`."""

from __future__ import annotations

from collections.abc import Hashable, Mapping

from monai.config import KeysCollection
from monai.transforms import MapTransform
from torch import nn

from monai_roigan.networks.source import GeneratorSource
from monai_roigan.transforms.counterpart.array import NormalCounterpart

__all__ = ["NormalCounterpartD", "NormalCounterpartDict", "NormalCounterpartd"]


class NormalCounterpartd(MapTransform):
    """Dictionary version: each key's ROI (1, S, S) in ``intensity_range`` becomes (C, S, S) with its normal
    counterpart and/or residual as extra channels (:class:`NormalCounterpart`; the arguments are its own, plus
    MONAI's ``keys`` and ``allow_missing_keys``; a :class:`NormalCounterpart` given as ``generator`` is used as it is,
    and the other arguments are then ignored)."""

    backend = NormalCounterpart.backend

    def __init__(
        self,
        keys: KeysCollection,
        generator: str | nn.Module | GeneratorSource | NormalCounterpart,
        output: str = "residual",
        num_draws: int = 0,
        seed: int = 0,
        mask=None,
        device="cpu",
        batch_size: int = 256,
        intensity_range: tuple[float, float] = (-1.0, 1.0),
        allow_missing_keys: bool = False,
    ):
        MapTransform.__init__(self, keys, allow_missing_keys)
        if isinstance(generator, NormalCounterpart):  # one transform, e.g. the one that also makes the test inputs
            self.counterpart = generator
        else:
            self.counterpart = NormalCounterpart(
                generator, output, num_draws, seed, mask, device, batch_size, intensity_range
            )

    def __call__(self, data: Mapping[Hashable, object]) -> dict:
        d = dict(data)
        for key in self.key_iterator(d):
            d[key] = self.counterpart(d[key])
        return d


NormalCounterpartD = NormalCounterpartDict = NormalCounterpartd
