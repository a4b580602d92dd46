"""CBIS-DDSM: the four case-description CSVs, path resolution and MONAI datalists.

The official CSVs (``mass_case_description_{train,test}_set.csv``, ``calc_case_description_...``) have 14
columns whose header spelling varies (``breast_density`` vs ``breast density``) and quoted path fields
with embedded newlines. Headers are normalised to ``lower_snake_case`` and every value is stripped.

Image paths in the CSVs (``.../000000.dcm``) rarely match a real download (TCIA's NBIA client writes
``CBIS-DDSM/<case>/<date-uid>/<series>/1-1.dcm``), and the cropped-image and ROI-mask columns are swapped
in some rows. :func:`resolve_cbis_path` therefore tries, in order: the CSV path under ``root`` (and under
``root/CBIS-DDSM``), a flat ``root/<case>.dcm``, and the DICOM files found under ``root/<case>/``. Among
several files for an ROI folder the mask is the one with the most pixels (masks have the full image's
size; crops are small), read from headers only.

The ROI centre comes from the mask (see :class:`~monai_roigan.transforms.roi.MaskToCenterd`); the datalist
carries the mask path and leaves ``center`` empty.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

import pydicom

from monai_roigan.data.classes import ALL_CLASSES, class_label
from monai_roigan.data.datalist import keep_existing_images
from monai_roigan.utils.errors import AnnotationError

__all__ = [
    "CBISRecord",
    "read_cbis_ddsm_csv",
    "cbis_ddsm_datalist",
    "resolve_cbis_path",
    "CBIS_REQUIRED_COLUMNS",
    "CBIS_SHAPE_CLASSES",
]

CBIS_REQUIRED_COLUMNS = (
    "patient_id",
    "left_or_right_breast",
    "image_view",
    "abnormality_id",
    "abnormality_type",
    "pathology",
    "image_file_path",
    "cropped_image_file_path",
    "roi_mask_file_path",
)
#: Opt-in regrouping of CBIS-DDSM mass shapes into the paper's rare classes (``mass_shape_classes=``).
CBIS_SHAPE_CLASSES: dict[str, str] = {
    "ARCHITECTURAL_DISTORTION": "architectural_distortion",
    "ASYMMETRIC_BREAST_TISSUE": "asymmetry",
    "FOCAL_ASYMMETRIC_DENSITY": "asymmetry",
}
_ABNORMALITY_CLASS = {"mass": "mass", "calcification": "calcification"}


@dataclass(frozen=True)
class CBISRecord:
    """One CSV row: an abnormality on one mammogram.

    Attributes:
        patient_id, laterality (``"L"``/``"R"``), view (``"CC"``/``"MLO"``), abnormality_id,
        abnormality_type (``"mass"``/``"calcification"``), pathology (``BENIGN``, ``BENIGN_WITHOUT_CALLBACK``,
        ``MALIGNANT``), image_path, cropped_path, mask_path (relative paths as in the CSV), line (1-based
        line where the row ends), extra (all other columns, e.g. ``mass_shape``, ``assessment``).
    """

    patient_id: str
    laterality: str
    view: str
    abnormality_id: int
    abnormality_type: str
    pathology: str
    image_path: str
    cropped_path: str
    mask_path: str
    line: int
    extra: dict = field(default_factory=dict)

    @property
    def severity(self) -> str:
        return "M" if self.pathology.upper() == "MALIGNANT" else "B"


def _normalise_header(name: str) -> str:
    return "_".join(name.strip().lower().split())


def read_cbis_ddsm_csv(path: str | PathLike) -> list[CBISRecord]:
    """Read one CBIS-DDSM case-description CSV.

    Raises:
        AnnotationError: missing columns (named), or a row with an invalid laterality, view, abnormality type or
            abnormality id (with its line number).
    """
    path = os.fspath(path)
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as f:
        reader = csv.reader(f)
        try:
            header = [_normalise_header(h) for h in next(reader, [])]
            missing = [c for c in CBIS_REQUIRED_COLUMNS if c not in header]
            if missing:
                raise AnnotationError(path, f"not a CBIS-DDSM case-description CSV: missing column(s) {missing}", 1)
            return [
                _record(_row_dict(header, row, path, reader.line_num), path, reader.line_num) for row in reader if row
            ]
        except csv.Error as err:
            raise AnnotationError(path, f"malformed CSV ({err})", reader.line_num) from None


def _row_dict(header: list[str], row: list[str], path: str, line: int) -> dict:
    if len(row) < len(header):
        raise AnnotationError(path, f"row has {len(row)} fields, the header has {len(header)}", line)
    return dict(zip(header, (v.strip() for v in row)))


def _record(row: dict, path: str, line: int) -> CBISRecord:
    side = {"LEFT": "L", "RIGHT": "R"}.get(row["left_or_right_breast"].upper())
    view = row["image_view"].upper()
    kind = row["abnormality_type"].lower()
    if side is None or view not in ("CC", "MLO") or kind not in _ABNORMALITY_CLASS:
        raise AnnotationError(
            path, f"invalid laterality, view or abnormality type in row {list(row.values())[:6]}", line
        )
    if not row["abnormality_id"].isdigit():
        raise AnnotationError(path, f"abnormality id {row['abnormality_id']!r} is not an integer", line)
    extra = {k: v for k, v in row.items() if k not in CBIS_REQUIRED_COLUMNS}
    return CBISRecord(
        row["patient_id"],
        side,
        view,
        int(row["abnormality_id"]),
        kind,
        row["pathology"].upper(),
        row["image_file_path"],
        row["cropped_image_file_path"],
        row["roi_mask_file_path"],
        line,
        extra,
    )


def _dicom_pixels(path: Path) -> int:
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        return int(ds.Rows) * int(ds.Columns)
    except Exception:  # unreadable candidates are never chosen
        return -1


def resolve_cbis_path(root: str | PathLike, relative: str, largest: bool = True) -> str | None:
    """Find the file a CBIS-DDSM CSV path refers to under ``root`` (see the module docstring), or None.

    Args:
        root: the dataset folder.
        relative: the path from the CSV.
        largest: among several DICOMs in the case folder pick the one with most pixels (the full image or the
            mask); otherwise the folder must hold exactly one.
    """
    root = Path(root)
    case = relative.replace("\\", "/").split("/")[0]
    for base in (root, root / "CBIS-DDSM"):
        for candidate in (base / relative, base / f"{case}.dcm"):
            if candidate.is_file():
                return str(candidate)
        folder = base / case
        if folder.is_dir():
            found = sorted(folder.rglob("*.dcm"))
            if len(found) == 1 or (found and largest):
                return str(max(found, key=_dicom_pixels) if len(found) > 1 else found[0])
    return None


def _class_name(rec: CBISRecord, mass_shape_classes: Mapping[str, str] | None) -> str:
    if rec.abnormality_type == "mass" and mass_shape_classes:
        shapes = rec.extra.get("mass_shape", "").upper().split("-")
        for keyword, name in mass_shape_classes.items():
            if keyword in shapes:
                return name
    return _ABNORMALITY_CLASS[rec.abnormality_type]


def cbis_ddsm_datalist(
    csv_paths: str | PathLike | Iterable[str | PathLike],
    root: str | PathLike,
    class_names: Sequence[str] = ALL_CLASSES,
    mass_shape_classes: Mapping[str, str] | None = None,
    strict: bool = False,
) -> list[dict]:
    """A MONAI datalist (one dict per abnormality) for a CBIS-DDSM download.

    Args:
        csv_paths: one or more case-description CSVs.
        root: the folder holding the DICOM files (any layout handled by :func:`resolve_cbis_path`).
        class_names: class order defining the integer ``label``.
        mass_shape_classes: optional mass-shape keyword to class mapping, e.g. :data:`CBIS_SHAPE_CLASSES`.
        strict: raise when a full mammogram is missing instead of warning and skipping.

    Returns:
        Dicts with ``image``, ``mask`` (path or None), ``patient_id``, ``laterality``, ``view``,
        ``abnormality_id``, ``abnormality``, ``class_name``, ``label``, ``severity``, ``pathology``, the other
        CSV columns, ``center``/``radius`` None (taken from the mask later), ``spacing`` None, ``dataset``.
    """
    paths = [csv_paths] if isinstance(csv_paths, (str, PathLike)) else list(csv_paths)
    entries = []
    for csv_path in paths:
        records = read_cbis_ddsm_csv(csv_path)
        source_entries = [_entry(rec, root, class_names, mass_shape_classes) for rec in records]
        entries += keep_existing_images(source_entries, os.fspath(csv_path), strict)
    return entries


def _entry(rec: CBISRecord, root, class_names, mass_shape_classes) -> dict:
    class_name = _class_name(rec, mass_shape_classes)
    image = resolve_cbis_path(root, rec.image_path) or str(Path(root) / rec.image_path)
    mask = resolve_cbis_path(root, rec.mask_path)
    return {
        **rec.extra,
        "image": image,
        "mask": mask,
        "patient_id": rec.patient_id,
        "laterality": rec.laterality,
        "view": rec.view,
        "abnormality_id": rec.abnormality_id,
        "abnormality": rec.abnormality_type,
        "class_name": class_name,
        "label": class_label(class_name, class_names),
        "severity": rec.severity,
        "pathology": rec.pathology,
        "center": None,
        "radius": None,
        "spacing": None,
        "line": rec.line,
        "dataset": "CBIS-DDSM",
    }
