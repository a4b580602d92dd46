"""Shared datalist helpers: dropping (or refusing) annotations whose image file is missing."""

from __future__ import annotations

import os
import warnings

from monai_roigan.utils.errors import MissingImageError

__all__ = ["keep_existing_images"]


def keep_existing_images(entries: list[dict], source: str, strict: bool = False, image_key: str = "image") -> list[dict]:
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
