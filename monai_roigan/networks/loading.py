"""Load exported generator weights safely (``weights_only=True``) with errors that name the file."""

from __future__ import annotations

from os import PathLike

import torch
from torch import nn

__all__ = ["load_weights"]


def load_weights(network: nn.Module, path: str | PathLike, map_location="cpu") -> nn.Module:
    """Load a plain state dict from ``path`` into ``network`` and return the network.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is not a tensor-only state dict (pickled code is refused), or it belongs to another
            architecture or class count (the mismatching keys or shapes are named).
    """
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such weights file") from None
    except Exception as err:
        raise ValueError(f"{path}: refused or unreadable weights file ({type(err).__name__}: {err})") from None
    if not isinstance(state, dict):
        raise ValueError(f"{path}: expected a state dict, found {type(state).__name__}")
    try:
        network.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise ValueError(f"{path}: weights do not fit {type(network).__name__} ({err})") from None
    return network
