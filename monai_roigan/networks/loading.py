"""Load a trained generator from its weights safely (``weights_only=True``) with errors that name the file.

This is the one way the package loads a generator (the bundle's inference, the augmentation transforms via
:class:`~monai_roigan.networks.GeneratorSource`, evaluation). :func:`load_generator` rebuilds the generator
(:class:`ROIGenerator` or :class:`PerClassGenerator`, with its latent size, class count, width, output size,
kernel and up-sampling layout, or a :class:`ContextROIGenerator` from its stored ``architecture``) from an
exported ``model.pt`` or a checkpoint, so a user needs only the file: any width loads without naming it.
"""

from __future__ import annotations

from os import PathLike

from torch import nn

from monai_roigan.networks.nets import ContextROIGenerator, PerClassGenerator, ROIGenerator
from monai_roigan.utils.errors import CheckpointError
from monai_roigan.utils.safe_load import load_state_file

__all__ = [
    "GENERATOR_KINDS",
    "load_generator",
    "generator_from_state",
    "generator_geometry",
    "generator_state",
    "upsampling_mode",
]

#: the two kinds of generator, as errors name them
GENERATOR_KINDS = {
    "noise": "noise-to-ROI generator (ROIGenerator or PerClassGenerator)",
    "context": "context generator (ContextROIGenerator, bundle/configs/context.json)",
}


def generator_geometry(state: dict) -> dict:
    """Class count (0: unconditional), output size in pixels and layout of a generator state dict.

    Returns:
        ``{"num_classes", "output_size", "per_class", "prefix", "kind"}``; ``prefix`` is where the (first)
        network's keys start (``"models.0."`` for a :class:`PerClassGenerator`); ``kind`` is ``"context"`` for a
        :class:`ContextROIGenerator` and ``"noise"`` otherwise.
    """
    if "architecture" in state and "context_bank" in state:
        _, num_classes, _, output_size, _, _ = (int(v) for v in state["architecture"])
        return {
            "num_classes": num_classes,
            "output_size": output_size,
            "per_class": False,
            "prefix": "",
            "kind": "context",
        }
    per_class = sorted({int(k.split(".")[1]) for k in state if k.startswith("models.")})
    prefix = "models.0." if per_class else ""
    embed = state.get(f"{prefix}embed.weight")  # (num_classes, embedding_dim) or absent
    upsamplings = sum(
        1 for k, v in state.items() if k.startswith(f"{prefix}upsample.") and k.endswith(".weight") and v.dim() == 4
    )
    num_classes = len(per_class) if per_class else (0 if embed is None else int(embed.shape[0]))
    return {
        "num_classes": num_classes,
        "output_size": 4 * 2**upsamplings,
        "per_class": bool(per_class),
        "prefix": prefix,
        "kind": "noise",
    }


def upsampling_mode(state: dict, prefix: str = "") -> str:
    """The up-sampling layout of a noise generator state dict: ``"resize"`` when its first up-sampling layer holds no
    weights (a nearest up-sampling), ``"antialiased"`` when its blocks end in a blur kernel, ``"transposed"``
    otherwise (the paper's transposed convolutions: every file before 0.11.0)."""
    if f"{prefix}upsample.0.weight" not in state:
        return "resize"
    return "antialiased" if f"{prefix}upsample.3.kernel" in state else "transposed"


def generator_from_state(state: dict) -> nn.Module:
    """An untrained generator whose architecture fits ``state`` (an exported generator state dict).

    Raises:
        KeyError: ``state`` is not a generator state dict.
    """
    geometry = generator_geometry(state)
    if geometry["kind"] == "context":
        return ContextROIGenerator.from_state(state)
    prefix = geometry["prefix"]
    project = state[f"{prefix}project.0.weight"]  # (C0 * 16, latent_dim + embedding_dim)
    embed = state.get(f"{prefix}embed.weight")
    embedding_dim = 0 if embed is None else embed.shape[1]
    arch = {
        "latent_dim": project.shape[1] - embedding_dim,
        "width": project.shape[0] / 16 / 1024,
        "output_size": geometry["output_size"],
        "kernel_size": state[f"{prefix}to_image.0.weight"].shape[-1],
        "upsample": upsampling_mode(state, prefix),
    }
    if geometry["per_class"]:
        return PerClassGenerator(num_classes=geometry["num_classes"], **arch)
    return ROIGenerator(num_classes=geometry["num_classes"], embedding_dim=embedding_dim or None, **arch)


def generator_state(state: dict) -> dict:
    """The generator's state dict from an exported ``model.pt`` or from a training checkpoint (its EMA copy)."""
    if "ema" in state and isinstance(state["ema"], dict):
        return {k.removeprefix("module."): v for k, v in state["ema"].items() if k != "n_averaged"}
    if "generator" in state and isinstance(state["generator"], dict):
        return state["generator"]
    return state


def load_generator(path: str | PathLike, map_location="cpu") -> nn.Module:
    """The generator saved in ``path``, rebuilt from its shapes, in eval mode.

    ``path`` is an exported ``models/model.pt`` or a training checkpoint (``checkpoint_*.pt``,
    ``best_checkpoint_*.pt``: its EMA generator).

    Raises:
        FileNotFoundError: no such file.
        CheckpointError: (a ``ValueError``) not a tensor-only generator state dict (pickled code is refused),
            naming the file.
    """
    state = generator_state(load_state_file(path, map_location))
    try:
        network = generator_from_state(state)
    except (KeyError, IndexError, AttributeError) as err:
        raise CheckpointError(path, f"not a ROI generator state dict (missing {err})") from None
    try:
        network.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise CheckpointError(path, f"weights do not fit {type(network).__name__} ({err})") from None
    return network.to(map_location).eval()
