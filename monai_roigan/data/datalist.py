"""Shared datalist helpers: reading a datalist JSON file, and dropping (or refusing) annotations whose image
file is missing."""

from __future__ import annotations

import json
import os
import warnings
from os import PathLike
from pathlib import Path

from monai_roigan.utils.errors import AnnotationError, MissingImageError

__all__ = ["keep_existing_images", "read_datalist_file"]


def keep_existing_images(
    entries: list[dict], source: str, strict: bool = False, image_key: str = "image"
) -> list[dict]:
    """Return the entries whose ``image_key`` file exists.

    Args:
        entries: datalist entries (dicts) with a path under ``image_key``.
        source: the annotation file the entries came from, named in the warning or error.
        strict: raise :class:`MissingImageError` instead of warning and skipping.
    """
    missing = [e for e in entries if not os.path.isfile(e[image_key])]
    if not missing:
        return entries
    names = sorted({os.path.basename(e[image_key]) for e in missing})
    msg = (
        f"{source}: {len(missing)} annotation(s) refer to {len(names)} missing image file(s), "
        f"e.g. {', '.join(names[:5])}"
    )
    if strict:
        raise MissingImageError(msg)
    warnings.warn(msg + "; skipped (pass strict=True to fail instead)", stacklevel=3)
    return [e for e in entries if os.path.isfile(e[image_key])]


def read_datalist_file(path: str | PathLike) -> list[dict]:
    """Entries of a datalist JSON: its ``"training"`` list (as written by ``roigan-dicom-datalist``) or a bare list.

    Raises:
        AnnotationError: not JSON, or no list of entries with an ``image`` each.
    """
    path = os.fspath(path)
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise AnnotationError(path, f"invalid JSON ({err})") from None
    entries = data.get("training") if isinstance(data, dict) else data
    if not isinstance(entries, list) or not all(isinstance(e, dict) and "image" in e for e in entries):
        raise AnnotationError(path, "expected a list of entries with an 'image' each (or {'training': [...]})")
    return entries
