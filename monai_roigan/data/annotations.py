"""Generic ROI annotations: a table of (file, row, col, radius, class) beside a folder of images.

For clinical DICOM exports and any dataset that is neither MIAS nor CBIS-DDSM. The table is a CSV with a
header or a JSON list of objects, with the fields

=========  ===============================================================================
file       image path, relative to ``image_root`` (default: the table's folder) or absolute
row, col   lesion centre in **top-left** pixel coordinates of the stored image (row 0 = top)
radius     optional, pixels; empty or missing for unknown
class      a class name from ``class_names`` (e.g. ``mass``), or ``normal``
=========  ===============================================================================
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Sequence
from os import PathLike
from pathlib import Path

from monai_roigan.data.classes import ALL_CLASSES
from monai_roigan.data.datalist import keep_existing_images
from monai_roigan.utils.errors import AnnotationError

__all__ = ["read_roi_table", "annotation_datalist", "annotation_fields", "ROI_TABLE_COLUMNS"]

ROI_TABLE_COLUMNS = ("file", "row", "col", "class")


def read_roi_table(path: str | PathLike) -> list[tuple[int, dict]]:
    """Rows of a CSV or JSON annotation table as ``(line_or_index, row_dict)`` with stripped string keys.

    Raises:
        AnnotationError: unreadable JSON, not a list of objects, or missing required columns.
    """
    path = os.fspath(path)
    if path.lower().endswith(".json"):
        try:
            rows = json.loads(Path(path).read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise AnnotationError(path, f"invalid JSON ({err})") from None
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise AnnotationError(path, "expected a JSON list of objects")
        numbered = list(enumerate(rows, start=1))
        columns = set().union(*(r.keys() for r in rows)) if rows else set()
    else:
        with open(path, newline="", encoding="utf-8-sig", errors="replace") as f:
            reader = csv.DictReader(f)
            columns = {c.strip() for c in reader.fieldnames or []}
            numbered = [(reader.line_num, {k.strip(): v for k, v in r.items() if k}) for r in reader]
    missing = [c for c in ROI_TABLE_COLUMNS if c not in columns]
    if missing:
        raise AnnotationError(path, f"missing column(s) {missing}; required: {list(ROI_TABLE_COLUMNS)}")
    return numbered


def _int_field(row: dict, key: str, path: str, line: int, optional: bool = False) -> int | None:
    value = row.get(key)
    if optional and (value is None or str(value).strip() == ""):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise AnnotationError(path, f"{key} {value!r} is not a number", line) from None
    if number < 0 or number != int(number):
        raise AnnotationError(path, f"{key} {value!r} must be a non-negative integer", line)
    return int(number)


def annotation_fields(row: dict, path: str, line: int, class_names: Sequence[str] = ALL_CLASSES) -> dict:
    """``center`` ([row, col] top-left or None), ``radius``, ``class_name``, ``label``, ``line`` of one table row.

    Raises:
        AnnotationError: unknown class name or bad number, with ``line``.
    """
    name = str(row["class"]).strip()
    if name not in class_names:
        raise AnnotationError(path, f"unknown class {name!r}; expected one of {list(class_names)}", line)
    optional = name == "normal"
    r, c = _int_field(row, "row", path, line, optional), _int_field(row, "col", path, line, optional)
    return {
        "center": [r, c] if r is not None and c is not None else None,
        "radius": _int_field(row, "radius", path, line, optional=True),
        "class_name": name,
        "label": list(class_names).index(name),
        "line": line,
    }


def annotation_datalist(
    table: str | PathLike,
    image_root: str | PathLike | None = None,
    class_names: Sequence[str] = ALL_CLASSES,
    strict: bool = False,
) -> list[dict]:
    """A MONAI datalist from an annotation table (see the module docstring).

    Returns:
        Dicts with ``image``, ``center`` ([row, col] top-left; None for ``normal`` rows without one),
        ``radius``, ``class_name``, ``label`` and ``dataset`` ("annotations").

    Raises:
        AnnotationError: unknown class name or bad number, with the line (CSV) or item index (JSON).
    """
    path = os.fspath(table)
    root = Path(image_root) if image_root is not None else Path(path).parent
    entries = [
        {
            "image": str(root / str(row["file"]).strip()),
            **annotation_fields(row, path, line, class_names),
            "dataset": "annotations",
        }
        for line, row in read_roi_table(path)
    ]
    return keep_existing_images(entries, path, strict)
