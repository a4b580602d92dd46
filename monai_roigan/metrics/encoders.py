"""An image encoder from a network file the user supplies (e.g. the FID Inception-v3), for set-level metrics.

FID, KID and precision/recall use the domain encoder by default
(:func:`~monai_roigan.metrics.distribution.domain_features`). When the user gives a network file,
:class:`FileEncoder` computes the features with it instead. Nothing is downloaded, and nothing is unpickled
beyond ``torch.load(weights_only=True)``: the file must hold the whole network (code and weights), so no
architecture has to be rebuilt here.

**Formats**, recognised from the zip archive's entries (not from the file name):

- a TorchScript archive (``torch.jit.save``), loaded with ``torch.jit.load`` (TorchScript's C++ reader, not
  Python's ``pickle``; it rebuilds TorchScript classes and tensors only). NVIDIA's ``inception-2015-12-05.pt``
  is one: the FID Inception-v3 of StyleGAN2-ADA, StyleGAN3 and clean-fid, called as
  ``module(x, return_features=True)`` on (B, 3, H, W) images in 0..255 to give (B, 2048) pool features
  (without the keyword it gives class scores). StyleGAN2-ADA feeds it native-size uint8 images and lets it
  resize to 299 itself; clean-fid resizes to 299 first.
- a ``torch.export`` program (``torch.export.save``, ``.pt2``), loaded with ``torch.export.load``. That loader
  unpickles some payloads, so the archive is checked first and refused if it holds any: weights or constants
  stored with pickle (tensor subclasses, custom or opaque objects), legacy pickled weight files, compiled
  AOTInductor/ExecuTorch payloads, or sample inputs that ``torch.load(weights_only=True)`` cannot read.

**Preprocessing** of ROIs (N, 1, S, S) or (N, S, S) in [-1, 1]: clip to [-1, 1]; replicate to 3 channels; map
linearly to ``value_range`` (default 0..255, as floats, not rounded to 8 bits); resize to
``input_size`` x ``input_size`` (default 299) with ``torch.nn.functional.interpolate`` (bilinear,
``align_corners=False``, antialiased when shrinking; ``input_size=None`` keeps the size); run in batches of
``batch_size`` under ``torch.no_grad``; flatten each image's output to a row: (N, D) float64.

**Call**: a TorchScript ``forward`` whose schema has a ``return_features`` argument is called with
``return_features=True``; otherwise with no keyword. An exported program is called with the keyword values it
was exported with (they are fixed constants of the program, guarded at each call). ``call_kwargs`` overrides
either. If an exported program's batch size was fixed at export, batches are padded to that size and the
padding's features dropped. TorchScript modules are put in eval mode; an exported program runs in the mode it
was exported in.

Torch 2.13 deprecates ``torch.jit.load`` with a ``DeprecationWarning`` that a user holding a TorchScript file
cannot act on, so it is silenced for that one call. FIDs on these features are not comparable with published
ImageNet FIDs (grayscale ROIs, another resizing, other images).
"""

from __future__ import annotations

import hashlib
import io
import json
import warnings
import zipfile
from collections.abc import Mapping, Sequence
from os import PathLike
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.export.graph_signature import ConstantArgument, InputKind

from monai_roigan.utils.errors import ModelFileError

__all__ = ["FileEncoder", "encoder_file_kind"]

_COMPILED = ("data/aotinductor/", "data/executorch/", "data/mtia", "xl_model_weights/")
_PAYLOAD_PREFIXES = ("weight_", "tensor_")


def _entries(archive: zipfile.ZipFile) -> dict[str, str]:
    """Entry names without the archive's top folder (``model/code/x.py`` -> ``code/x.py``) -> full names."""
    return {name.split("/", 1)[1]: name for name in archive.namelist() if "/" in name}


def encoder_file_kind(path: str | PathLike) -> str:
    """``"torchscript"`` or ``"export"``: what the network file is, from its zip entries.

    Raises:
        FileNotFoundError: no such file.
        ModelFileError: (a ``ValueError``) neither format (e.g. a ``torch.save`` pickle), naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such encoder file")
    if not zipfile.is_zipfile(path):
        raise ModelFileError(path, "not a TorchScript archive or torch.export program (not a zip archive)")
    with zipfile.ZipFile(path) as archive:
        entries = _entries(archive)
    if "constants.pkl" in entries and any(name.startswith("code/") for name in entries):
        return "torchscript"
    if "archive_format" in entries and any(name.startswith("models/") for name in entries):
        return "export"
    raise ModelFileError(
        path,
        "a zip archive, but neither a TorchScript archive (torch.jit.save) nor a torch.export "
        "program (torch.export.save); pickled modules and state dicts are refused",
    )


def _check_export_archive(path: Path) -> None:
    """Refuse a ``.pt2`` archive that ``torch.export.load`` would unpickle (see the module docstring)."""
    with zipfile.ZipFile(path) as archive:
        for entry, name in _entries(archive).items():
            if entry.startswith(_COMPILED):
                raise ModelFileError(
                    path, f"holds compiled or external payloads ({entry}); only a plain torch.export program is read"
                )
            if entry.startswith(("data/weights/", "data/constants/")) and entry.endswith(".pt"):
                raise ModelFileError(path, f"legacy pickled payload {entry}; re-save it with torch.export.save")
            if entry.endswith(("_weights_config.json", "_constants_config.json")):
                for key, meta in json.loads(archive.read(name)).get("config", {}).items():
                    if meta.get("use_pickle") or not str(meta.get("path_name", "")).startswith(_PAYLOAD_PREFIXES):
                        raise ModelFileError(path, f"{key!r} is stored as a pickle or custom object ({entry}); refused")
            if entry.startswith("data/sample_inputs/") and archive.getinfo(name).file_size:
                try:
                    torch.load(io.BytesIO(archive.read(name)), weights_only=True)
                except Exception as err:  # noqa: BLE001 - any failure means it is not plain tensors
                    raise ModelFileError(path, f"sample inputs {entry} are not plain tensors ({err})") from None


def _load_torchscript(path: Path, device: torch.device) -> torch.jit.ScriptModule:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"`torch\.jit\.load` is deprecated", category=DeprecationWarning)
        try:
            module = torch.jit.load(str(path), map_location=device)
        except RuntimeError as err:
            raise ModelFileError(path, f"unreadable TorchScript archive ({str(err).splitlines()[0]})") from None
    return module.eval()


def _load_export(path: Path):
    _check_export_archive(path)
    try:
        return torch.export.load(io.BytesIO(path.read_bytes()))
    except Exception as err:  # noqa: BLE001 - torch raises RuntimeError, AssertionError, KeyError, ...
        raise ModelFileError(path, f"unreadable torch.export program ({str(err).splitlines()[0]})") from None


def _forward_arguments(module) -> list[str]:
    """Argument names of a TorchScript module's ``forward`` (empty when its schema cannot be read)."""
    try:
        return [argument.name for argument in module.forward.schema.arguments]
    except (AttributeError, RuntimeError):
        return []


def _export_keywords(path: Path, program) -> dict:
    """The keyword values an exported program was exported with (it accepts only those).

    Raises:
        ModelFileError: the program takes more than one positional input, or a tensor keyword input.
    """
    spec = program.call_spec.in_spec
    args, kwargs = spec.child(0), spec.child(1)
    if args.num_leaves != 1:
        raise ModelFileError(
            path, f"the exported program takes {args.num_leaves} positional inputs, not one image batch"
        )
    inputs = [s.arg for s in program.graph_signature.input_specs if s.kind == InputKind.USER_INPUT]
    values = dict(zip(kwargs.context, inputs[1:]))
    tensors = [name for name, arg in values.items() if not isinstance(arg, ConstantArgument)]
    if tensors:
        raise ModelFileError(
            path, f"the exported program takes tensor keyword inputs {tensors}; an encoder takes one image batch"
        )
    return {name: arg.value for name, arg in values.items()}


def _export_input_shape(program) -> tuple[int | None, ...] | None:
    """The first input's shape with None for dimensions left dynamic at export, or None if unknown."""
    inputs = program.graph_signature.user_inputs
    for node in program.graph.nodes:
        if node.op == "placeholder" and inputs and node.name == inputs[0]:
            value = node.meta.get("val")
            if isinstance(value, torch.Tensor):
                return tuple(d if isinstance(d, int) else None for d in value.shape)
    return None


class FileEncoder:
    """Features of ROIs from a TorchScript or ``torch.export`` network file (see the module docstring).

    Args:
        path: the network file.
        input_size: side in pixels the images are resized to (None: not resized).
        value_range: (low, high) that [-1, 1] is mapped to.
        call_kwargs: keyword arguments of every call (default: ``return_features=True`` when a TorchScript
            ``forward`` accepts it, else none; for an exported program, the keywords it was exported with).
        device: where the network runs.
        batch_size: images per call.

    Raises:
        FileNotFoundError: no such file.
        ModelFileError: (a ``ValueError``) naming the file: neither format, unreadable, refused for pickled
            payloads, or an exported program whose fixed input size is not ``input_size``.
    """

    def __init__(
        self,
        path: str | PathLike,
        input_size: int | None = 299,
        value_range: Sequence[float] = (0.0, 255.0),
        call_kwargs: Mapping | None = None,
        device: str | torch.device = "cpu",
        batch_size: int = 64,
    ):
        self.path, self.device = Path(path), torch.device(device)
        self.kind = encoder_file_kind(self.path)
        self.input_size, self.batch_size = input_size, batch_size
        self.value_range = (float(value_range[0]), float(value_range[1]))
        with self.path.open("rb") as stream:
            self.sha256 = hashlib.file_digest(stream, "sha256").hexdigest()
        self.fixed_batch, self.dim = None, None
        if self.kind == "torchscript":
            self.module = _load_torchscript(self.path, self.device)
            default = {"return_features": True} if "return_features" in _forward_arguments(self.module) else {}
            self.call_kwargs = dict(default if call_kwargs is None else call_kwargs)
        else:
            program = _load_export(self.path)
            self._check_export_size(_export_input_shape(program))
            default = _export_keywords(self.path, program)
            self.module = program.module().to(self.device)
            self.call_kwargs = dict(default if call_kwargs is None else call_kwargs)

    def _check_export_size(self, shape: tuple[int | None, ...] | None) -> None:
        if shape is None or len(shape) != 4:
            return
        self.fixed_batch = shape[0]
        fixed = shape[2:]
        if self.input_size is not None and None not in fixed and fixed != (self.input_size, self.input_size):
            raise ModelFileError(
                self.path, f"the exported program takes {fixed[0]}x{fixed[1]} images, not input_size={self.input_size}"
            )

    def preprocess(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 1, H, W) in [-1, 1] -> (B, 3, s, s) in ``value_range`` on the device (see the module docstring)."""
        low, high = self.value_range
        x = images.to(self.device, torch.float32).clamp(-1.0, 1.0).repeat(1, 3, 1, 1)
        x = low + (x + 1.0) * ((high - low) / 2.0)
        size = self.input_size
        if size is not None and tuple(x.shape[-2:]) != (size, size):
            shrink = max(x.shape[-2:]) > size
            x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=shrink)
        return x

    def _run(self, x: torch.Tensor) -> torch.Tensor:
        count = len(x)
        if self.fixed_batch is not None and count < self.fixed_batch:
            x = torch.cat([x, x[-1:].expand(self.fixed_batch - count, *x.shape[1:])])
        try:
            out = self.module(x, **self.call_kwargs)
        except Exception as err:  # noqa: BLE001 - the network's own errors, reported with the file
            raise ModelFileError(self.path, f"failed on input {tuple(x.shape)} ({str(err).splitlines()[0]})") from None
        if not isinstance(out, torch.Tensor):
            raise ModelFileError(self.path, f"returned a {type(out).__name__}, not one tensor of features")
        if out.dim() == 0 or out.shape[0] != len(x) or out[0].numel() == 0:
            raise ModelFileError(
                self.path, f"returned shape {tuple(out.shape)} for {len(x)} images: not one feature vector per image"
            )
        return out[:count].reshape(count, -1)

    @torch.no_grad()
    def __call__(self, images) -> np.ndarray:
        """(N, D) float64 features of images (N, 1, S, S) or (N, S, S) in [-1, 1]."""
        x = torch.as_tensor(np.asarray(images), dtype=torch.float32)
        x = x[:, None] if x.dim() == 3 else x
        if x.dim() != 4 or x.shape[1] != 1:
            raise ValueError(f"expected (N, 1, S, S) or (N, S, S) images, got shape {tuple(np.shape(images))}")
        if len(x) == 0:
            return np.zeros((0, self.dim or 0))
        chunks = x.split(self.fixed_batch or self.batch_size)
        rows = [self._run(self.preprocess(chunk)).double().cpu() for chunk in chunks]
        sizes = sorted({row.shape[1] for row in rows})
        if len(sizes) > 1:
            raise ModelFileError(self.path, f"feature sizes differ between batches: {sizes}")
        features = torch.cat(rows).numpy()
        if not np.isfinite(features).all():
            raise ModelFileError(self.path, "produced non-finite features")
        self.dim = features.shape[1]
        return features

    def description(self) -> str:
        """One line for reports: the file, its sha256 prefix, the preprocessing, the call and the feature size."""
        size = "native size" if self.input_size is None else f"{self.input_size} px"
        call = ", ".join(f"{k}={v!r}" for k, v in self.call_kwargs.items()) or "no keywords"
        dim = f", {self.dim} features" if self.dim is not None else ""
        low, high = self.value_range
        return (
            f"{self.kind} encoder {self.path.name} (sha256 {self.sha256[:12]}), 3-channel {size} inputs in "
            f"{low:g}..{high:g}, called with {call}{dim}"
        )

    encoder_description = description
