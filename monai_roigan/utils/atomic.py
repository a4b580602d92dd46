"""Atomic file writes: a temporary file in the target folder, then a rename over the target."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from os import PathLike
from pathlib import Path

__all__ = ["atomic_write"]


def atomic_write(path: str | PathLike, write: Callable[[str], None]) -> Path:
    """Call ``write(tmp_path)`` on a fresh temporary file beside ``path``, then rename it to ``path``.

    A crash or an exception during ``write`` leaves ``path`` untouched (the old file, or none) and removes the
    temporary file; readers never see a partial ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path
