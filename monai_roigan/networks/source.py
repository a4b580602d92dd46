"""Where a trained generator comes from: a bundle folder, a weights/checkpoint file or a module in memory.

:class:`GeneratorSource` checks the source when it is built (in the main process, so a bad file fails
there and not inside a ``DataLoader`` worker): the file exists, holds only tensors, rebuilds into a ROI
generator, and has the expected number of classes. It records the generator's identity (bundle version and
SHA-256 of the weights file, or a hash of a module's weights) for the metadata of synthetic images.

The network is held once per process and device (:meth:`GeneratorSource.get`). The check at construction
leaves the loaded network in that per-process cache, so ``DataLoader`` workers started with fork inherit it
(no reload per epoch); pickling (workers started with spawn) carries the path, not the network, and each
such worker loads its own copy on first use.
"""

from __future__ import annotations

import hashlib
import json
from os import PathLike
from pathlib import Path

import torch
from torch import nn

from monai_roigan.networks.inference import inference_network
from monai_roigan.networks.loading import GENERATOR_KINDS, load_generator

__all__ = ["GeneratorSource", "as_generator_source", "check_generator_kind", "describe_weights", "generator_kind"]

_LOADED: dict[tuple[str, str, str], nn.Module] = {}  # (path, sha256, device) -> network, per process


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _module_sha256(module: nn.Module) -> str:
    digest = hashlib.sha256()
    for key, value in sorted(module.state_dict().items()):
        digest.update(key.encode())
        digest.update(value.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def _bundle_version(metadata: Path) -> str | None:
    return json.loads(metadata.read_text()).get("version") if metadata.is_file() else None


def _identity_line(name: str, version: str | None, sha256: str) -> str:
    return f"{f'monai-roigan bundle {version}' if version else name} sha256:{sha256[:12]}"


def describe_weights(path: str | PathLike, metadata: str | PathLike | None = None) -> str:
    """The one-line identity of a weights file, as written into synthetic images' metadata and DICOM tags.

    Args:
        path: exported ``model.pt`` or checkpoint.
        metadata: the bundle's ``metadata.json`` (its ``version`` is named when the file exists).

    Returns:
        ``"monai-roigan bundle 0.2.0 sha256:1a2b3c4d5e6f"`` (or the path instead of the bundle version).
    """
    path = Path(path)
    version = None if metadata is None else _bundle_version(Path(metadata))
    return _identity_line(str(path), version, _file_sha256(path))


def _num_classes(network: nn.Module) -> int:
    return int(getattr(network, "num_classes", 0))


def generator_kind(network: nn.Module) -> str:
    """``"context"`` for a :class:`~monai_roigan.networks.nets.ContextROIGenerator`, ``"noise"`` otherwise."""
    return "context" if getattr(network, "kind", "noise") == "context" else "noise"


def check_generator_kind(network: nn.Module, kind: str | None, where) -> None:
    """Refuse a generator of the wrong kind for its use, naming ``where`` (a file or a class name).

    ``kind="context"``: in-filling given contexts needs a context generator. ``kind=None``: making ROIs from noise
    alone needs a noise-to-ROI generator, or a context generator with a context bank.
    """
    if kind not in (None, "context"):
        raise ValueError(f"kind must be None or 'context', got {kind!r}")
    actual = generator_kind(network)
    if kind == "context" and actual != "context":
        raise ValueError(
            f"{where}: holds a {GENERATOR_KINDS[actual]}; in-filling given ROIs (inserting lesions, the normal "
            f"counterpart) needs a {GENERATOR_KINDS['context']}"
        )
    if kind is None and actual == "context" and network.context_bank.shape[0] == 0:
        raise ValueError(
            f"{where}: a context generator without a context bank cannot make ROIs from noise alone; "
            "insert lesions into your ROIs with InsertSyntheticLesion(d)"
        )


class GeneratorSource:
    """A trained ROI generator, checked now and loaded lazily.

    Args:
        source: a bundle folder (``models/model.pt`` and ``configs/metadata.json`` inside), a weights file
            (exported ``model.pt`` or a training checkpoint), or a generator module.
        num_classes: the class count the caller expects (None: any conditional generator).
        device: where the network runs ("cpu", "cuda:0", a torch.device).
        kind: ``None`` to make ROIs from noise (a noise-to-ROI generator, or a context generator with a context
            bank), ``"context"`` to in-fill given ROIs (a :class:`~monai_roigan.networks.nets.ContextROIGenerator`).

    Raises:
        FileNotFoundError: the folder or file does not exist (named).
        ValueError: corrupt or unsafe file, not a ROI generator, unconditional, another class count, or the wrong
            kind (named).
    """

    def __init__(
        self, source: str | PathLike | nn.Module, num_classes: int | None = None, device="cpu", kind: str | None = None
    ):
        self.device = str(torch.device(device))
        self.module: nn.Module | None = None
        self.path: Path | None = None
        if isinstance(source, nn.Module):
            self.module, network = source, source
            self.identity = {"kind": "module", "class": type(source).__name__, "sha256": _module_sha256(source)}
        else:
            self.path, version = self._resolve(Path(source))
            self.identity = {"kind": "file", "path": str(self.path), "sha256": _file_sha256(self.path)}
            if version is not None:
                self.identity["bundle_version"] = version
            network = inference_network(
                load_generator(self.path, map_location=self.device)
            )  # checks now, in this process
            _LOADED[(str(self.path), self.identity["sha256"], self.device)] = network  # forked workers inherit it
        where = self.path or type(source).__name__
        check_generator_kind(network, kind, where)
        self.kind = generator_kind(network)
        if _num_classes(network) == 0:
            raise ValueError(f"{where}: an unconditional generator cannot make class-specific ROIs")
        if num_classes is not None and _num_classes(network) != num_classes:
            raise ValueError(f"{where}: generator has {_num_classes(network)} classes, expected {num_classes}")
        self.num_classes, self.latent_dim = _num_classes(network), int(network.latent_dim)
        self.output_size = int(network.output_size)

    @staticmethod
    def _resolve(source: Path) -> tuple[Path, str | None]:
        if not source.exists():
            raise FileNotFoundError(f"{source}: no such generator file or bundle folder")
        if not source.is_dir():
            return source, None
        weights, metadata = source / "models" / "model.pt", source / "configs" / "metadata.json"
        if not weights.is_file():
            raise FileNotFoundError(f"{weights}: the bundle folder {source} has no trained generator")
        return weights, _bundle_version(metadata)

    def describe(self) -> str:
        """One line naming the generator: bundle version (if any) and the first 12 hex digits of its hash."""
        name = self.identity.get("path", self.identity.get("class"))
        line = _identity_line(name, self.identity.get("bundle_version"), self.identity["sha256"])
        return f"{line} (context generator)" if self.kind == "context" else line

    def get(self) -> nn.Module:
        """The network on ``device``, loaded at most once per process and device: a file's generator as its
        inference copy (:func:`~monai_roigan.networks.inference_network`), a module as given, in eval mode."""
        if self.module is not None:
            return self.module.to(self.device).eval()
        key = (str(self.path), self.identity["sha256"], self.device)
        if key not in _LOADED:
            _LOADED[key] = inference_network(load_generator(self.path, map_location=self.device))
        return _LOADED[key]

    def __repr__(self) -> str:
        return f"GeneratorSource({self.describe()}, device={self.device!r})"


def as_generator_source(
    generator: str | PathLike | nn.Module | GeneratorSource, num_classes: int, device="cpu", kind: str | None = None
) -> GeneratorSource:
    """``generator`` as a :class:`GeneratorSource` of ``num_classes`` classes and ``kind`` (a given source is
    checked, not rebuilt).

    Raises:
        ValueError: the generator has another class count or kind (and the errors of :class:`GeneratorSource`).
    """
    if isinstance(generator, GeneratorSource):
        source = generator
        check_generator_kind(source.get(), kind, source.path or source.identity.get("class"))
    else:
        source = GeneratorSource(generator, num_classes, device, kind)
    if source.num_classes != num_classes:
        raise ValueError(f"generator has {source.num_classes} classes, generator_classes names {num_classes}")
    return source
