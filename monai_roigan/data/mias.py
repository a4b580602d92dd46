"""The MIAS (mini-MIAS) database: ``Info.txt`` parsing and MONAI datalists.

``Info.txt`` starts with free text, then one row per abnormality::

    mdb001 G CIRC B 535 425 197      refnum, tissue, class, severity, x, y, radius
    mdb003 D NORM                    normal: no severity, no coordinates
    mdb059 F CIRC B                  abnormality without coordinates
    mdb216 D CALC M *NOTE 3*         widely distributed calcifications: no coordinates

x and y have their origin at the **bottom-left** corner of the 1024x1024 image. This module converts them to
top-left pixel coordinates ``(row, col) = (1024 - y, x)``, the convention of every array in this package.
Images with several abnormalities have several rows; each becomes its own record and datalist entry.
Even reference numbers are left breasts, odd ones right breasts (MIAS note 1); ``mdbN`` and ``mdbN+1`` with N odd
are the two breasts of one woman, so every entry carries ``patient_id`` (:func:`mias_woman`) and every split
by patient keeps a woman's two images together. All views are MLO; pixels are 200 microns (0.2 mm).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from os import PathLike
from pathlib import Path

from monai_roigan.data.classes import ALL_CLASSES, DEFAULT_MIAS_CLASS_MAP, MIAS_CODES, MIAS_TISSUES, check_class_map
from monai_roigan.data.datalist import keep_existing_images
from monai_roigan.utils.errors import AnnotationError

__all__ = ["MIASRecord", "parse_mias_info", "mias_datalist", "mias_woman", "MIAS_IMAGE_SIZE", "MIAS_PIXEL_SPACING_MM"]

MIAS_IMAGE_SIZE = 1024
MIAS_PIXEL_SPACING_MM = 0.2
_REFNUM = re.compile(r"^mdb[0-9]{3}$")
_INTEGER = re.compile(r"^[0-9]{1,9}$")  # ASCII digits only: str.isdigit() also accepts '²', which int() refuses
_SEPARATOR = re.compile(r"^=+$")


@dataclass(frozen=True)
class MIASRecord:
    """One row of ``Info.txt``.

    Attributes:
        refnum: reference number, e.g. ``"mdb001"`` (also the image file stem).
        tissue: background tissue, ``F`` (fatty), ``G`` (fatty-glandular) or ``D`` (dense-glandular).
        code: abnormality class code (CALC, CIRC, SPIC, MISC, ARCH, ASYM, NORM).
        severity: ``"B"`` (benign), ``"M"`` (malignant) or None (normal).
        center: (row, col) in top-left pixel coordinates, or None when the row has no coordinates.
        radius: radius in pixels of a circle enclosing the abnormality, or None.
        line: 1-based line number in ``Info.txt``.
    """

    refnum: str
    tissue: str
    code: str
    severity: str | None
    center: tuple[int, int] | None
    radius: int | None
    line: int

    @property
    def laterality(self) -> str:
        """``"L"`` for even reference numbers, ``"R"`` for odd ones (MIAS note 1)."""
        return "L" if int(self.refnum[3:]) % 2 == 0 else "R"


def _parse_row(tokens: list[str], path: str, line: int, image_size: int) -> MIASRecord:
    def fail(problem: str):
        raise AnnotationError(path, f"{problem}: {' '.join(tokens)!r}", line)

    if not _REFNUM.match(tokens[0]) or len(tokens) < 3:
        fail("malformed row (expected 'mdbNNN TISSUE CLASS [SEVERITY [X Y RADIUS]]')")
    refnum, tissue, code = tokens[:3]
    if tissue not in MIAS_TISSUES:
        fail(f"unknown tissue {tissue!r} (expected F, G or D)")
    if code not in MIAS_CODES:
        fail(f"unknown abnormality class {code!r}")
    rest = tokens[3:]
    if code == "NORM":
        if rest:
            fail("a NORM row has no severity or coordinates")
        return MIASRecord(refnum, tissue, code, None, None, None, line)
    if not rest or rest[0] not in ("B", "M"):
        fail("missing or unknown severity (expected B or M)")
    coords = rest[1:]
    if not coords or " ".join(coords) == "*NOTE 3*":
        return MIASRecord(refnum, tissue, code, rest[0], None, None, line)
    if len(coords) != 3 or not all(_INTEGER.match(c) for c in coords):
        fail("expected three integer values x y radius")
    x, y, radius = (int(c) for c in coords)
    if not (0 <= x < image_size and 0 < y <= image_size) or radius <= 0:
        fail(f"coordinates outside the {image_size}x{image_size} image or radius not positive")
    return MIASRecord(refnum, tissue, code, rest[0], (image_size - y, x), radius, line)


def parse_mias_info(path: str | PathLike, image_size: int = MIAS_IMAGE_SIZE) -> list[MIASRecord]:
    """Parse a MIAS ``Info.txt``.

    Args:
        path: the ``Info.txt`` file.
        image_size: side of the (square) images, for the bottom-left to top-left conversion.

    Returns:
        One :class:`MIASRecord` per table row, in file order (the real file has 330).

    Raises:
        AnnotationError: (a ``ValueError``) with the line number, for any malformed line after the table starts.
    """
    path = os.fspath(path)
    text = Path(path).read_bytes().decode("latin-1")
    records: list[MIASRecord] = []
    in_table = False
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        in_table = in_table or line.startswith("mdb")
        if not in_table or not line or _SEPARATOR.match(line):
            continue
        records.append(_parse_row(line.split(), path, number, image_size))
    if not records:
        raise AnnotationError(path, "no MIAS table rows found (expected lines like 'mdb001 G CIRC B 535 425 197')")
    return records


def mias_woman(refnum: str) -> str:
    """The woman an MIAS image belongs to: ``mdbN`` and ``mdbN+1`` (N odd) are her right and left breast.

    ``mias_woman("mdb001") == mias_woman("mdb002") == "mias-w001"``; ``"mdb003"`` and ``"mdb004"`` give ``"mias-w002"``.

    Raises:
        ValueError: not an MIAS reference number (``mdb`` and three digits).
    """
    if not _REFNUM.match(refnum):
        raise ValueError(f"{refnum!r} is not an MIAS reference number (mdb and three digits)")
    return f"mias-w{(int(refnum[3:]) + 1) // 2:03d}"


def mias_datalist(
    root: str | PathLike,
    info_path: str | PathLike | None = None,
    class_map: Mapping[str, str | None] | None = None,
    class_names: Sequence[str] = ALL_CLASSES,
    include_normal: bool = True,
    strict: bool = False,
) -> list[dict]:
    """A MONAI datalist (one dict per ``Info.txt`` row) for a MIAS folder.

    Args:
        root: folder with ``mdbNNN.pgm`` files (and ``Info.txt`` unless ``info_path`` is given).
        info_path: annotation file, default ``root/Info.txt``.
        class_map: MIAS code to class name (default :data:`DEFAULT_MIAS_CLASS_MAP`); a code mapped to None is
            dropped.
        class_names: class order defining the integer ``label``.
        include_normal: keep NORM rows.
        strict: raise :class:`MissingImageError` when an annotated image is missing, instead of warning.

    Returns:
        Dicts with ``image`` (path), ``refnum``, ``tissue``, ``abnormality`` (code), ``severity``,
        ``class_name``, ``label``, ``center`` ([row, col] top-left or None), ``radius`` (pixels or None),
        ``laterality``, ``view`` ("MLO"), ``spacing`` (mm), ``dataset`` ("MIAS") and ``patient_id`` (the woman,
        :func:`mias_woman`).
    """
    root = Path(root)
    info_path = Path(info_path) if info_path is not None else root / "Info.txt"
    class_map = check_class_map(class_map if class_map is not None else DEFAULT_MIAS_CLASS_MAP)
    entries = []
    for rec in parse_mias_info(info_path):
        class_name = class_map.get(rec.code)
        if class_name is None or (rec.code == "NORM" and not include_normal):
            continue
        if class_name not in class_names:
            raise ValueError(
                f"class_map maps {rec.code} to {class_name!r}, which is not in class_names {list(class_names)}"
            )
        entry = asdict(rec)
        entry.update(
            image=str(root / f"{rec.refnum}.pgm"),
            abnormality=entry.pop("code"),
            class_name=class_name,
            label=list(class_names).index(class_name),
            center=list(rec.center) if rec.center else None,
            laterality=rec.laterality,
            view="MLO",
            spacing=MIAS_PIXEL_SPACING_MM,
            dataset="MIAS",
            patient_id=mias_woman(rec.refnum),
        )
        entries.append(entry)
    return keep_existing_images(entries, str(info_path), strict)
