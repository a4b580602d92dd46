"""The one way monai-roigan reads ``.pt`` files: ``torch.load(weights_only=True)`` with errors naming the file.

``weights_only=True`` makes PyTorch's unpickler accept only tensors, primitive types and containers of them,
so a file carrying code (a pickled function, class or ``__reduce__`` payload) is refused *before* anything in
it runs. Checkpoints, exported generators and best checkpoints are all loaded through :func:`load_state_file`.
"""

from __future__ import annotations

import os
import pickle
from os import PathLike

import torch

from monai_roigan.utils.errors import CheckpointError

__all__ = ["load_state_file"]


def load_state_file(path: str | PathLike, map_location="cpu") -> dict:
    """Load a dict of tensors (a state dict or a checkpoint) from ``path`` without running pickled code.

    Raises:
        FileNotFoundError: no such file.
        CheckpointError: (a ``ValueError``) the file was refused (it holds pickled code or non-tensor objects),
            is unreadable (truncated, not a torch file), or does not hold a dict; the message names the file.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such weights or checkpoint file")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        refused = [line.strip() for line in str(err).splitlines() if "Unsupported global" in line]
        if refused:  # the unpickler met a reference to code (a function or class) and stopped before running it
            problem = f"refused by the safe loader: it holds pickled code or objects other than tensors ({refused[0]})"
            raise CheckpointError(path, problem) from None
        raise CheckpointError(
            path, "unreadable, truncated or not a torch file (the safe unpickler could not parse it)"
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError) as err:
        raise CheckpointError(
            path, f"unreadable, truncated or not a torch file ({type(err).__name__}: {err})"
        ) from None
    if not isinstance(state, dict):
        raise CheckpointError(path, f"expected a dict of tensors, found {type(state).__name__}")
    return state
