"""Load exported generator weights safely (``weights_only=True``) with errors that name the file.

:func:`load_generator` rebuilds the generator (:class:`ROIGenerator` or :class:`PerClassGenerator`, with its
latent size, class count, width, output size and kernel) from the shapes in an exported ``model.pt``, so a
user needs only the file.
"""

from __future__ import annotations

from os import PathLike

import torch
from torch import nn

from monai_roigan.networks.nets import PerClassGenerator, ROIGenerator

__all__ = ["load_weights", "load_generator", "generator_from_state", "generator_state"]


def _read_state(path: str | PathLike, map_location) -> dict:
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such weights file") from None
    except Exception as err:
        raise ValueError(f"{path}: refused or unreadable weights file ({type(err).__name__}: {err})") from None
    if not isinstance(state, dict):
        raise ValueError(f"{path}: expected a state dict, found {type(state).__name__}")
    return state


def generator_from_state(state: dict) -> nn.Module:
    """An untrained generator whose architecture fits ``state`` (an exported generator state dict).

    Raises:
        KeyError: ``state`` is not a generator state dict.
    """
    per_class = sorted({int(k.split(".")[1]) for k in state if k.startswith("models.")})
    prefix = "models.0." if per_class else ""
    project = state[f"{prefix}project.0.weight"]  # (C0 * 16, latent_dim + embedding_dim)
    embed = state.get(f"{prefix}embed.weight")  # (num_classes, embedding_dim) or absent
    embedding_dim = 0 if embed is None else embed.shape[1]
    upsamplings = sum(1 for k, v in state.items() if k.startswith(f"{prefix}upsample.") and v.dim() == 4)
    arch = {
        "latent_dim": project.shape[1] - embedding_dim,
        "width": project.shape[0] / 16 / 1024,
        "output_size": 4 * 2**upsamplings,
        "kernel_size": state[f"{prefix}to_image.0.weight"].shape[-1],
    }
    if per_class:
        return PerClassGenerator(num_classes=len(per_class), **arch)
    num_classes = 0 if embed is None else embed.shape[0]
    return ROIGenerator(num_classes=num_classes, embedding_dim=embedding_dim or None, **arch)


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
        ValueError: not a tensor-only generator state dict (pickled code is refused), naming the file.
    """
    state = generator_state(_read_state(path, map_location))
    try:
        network = generator_from_state(state)
    except (KeyError, IndexError, AttributeError) as err:
        raise ValueError(f"{path}: not a ROI generator state dict (missing {err})") from None
    try:
        network.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise ValueError(f"{path}: weights do not fit {type(network).__name__} ({err})") from None
    return network.to(map_location).eval()


def load_weights(network: nn.Module, path: str | PathLike, map_location="cpu") -> nn.Module:
    """Load a plain state dict from ``path`` into ``network`` and return the network.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is not a tensor-only state dict (pickled code is refused), or it belongs to another
            architecture or class count (the mismatching keys or shapes are named).
    """
    state = _read_state(path, map_location)
    try:
        network.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise ValueError(f"{path}: weights do not fit {type(network).__name__} ({err})") from None
    return network
