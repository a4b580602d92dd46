"""A hospital DICOM export (a folder tree or a DICOMDIR) to a MONAI datalist, and ``roigan-dicom-datalist``.

:func:`crawl_dicom_folder` reads headers only (``stop_before_pixels``), keeps mammography images (``Modality``
``MG`` or a Digital Mammography X-Ray SOP class), orders them by study, series and instance, and records
laterality (``ImageLaterality``, then ``Laterality``) and view (``ViewPosition``, then a view code in
``PatientOrientation``). Files that are not DICOM, unreadable, not mammograms, DICOMDIR indexes or
synthetic objects (``ConversionType`` ``SYN``, as monai-roigan writes them) are skipped and reported with the
reason; a bad file never stops the crawl.

:func:`join_annotations` joins the images with an annotation table (CSV or JSON, see
:mod:`monai_roigan.data.annotations`): a row's ``file`` may be the image's path relative to the crawled
root, its absolute path, its file name or its SOPInstanceUID. The result, written by
:func:`write_dicom_datalist` as ``{"training": [...], "skipped": [...]}``, is what the bundle's training
config accepts via ``--datalist``.

Patient identity is not copied: an entry holds ``patient_key``, the first 16 hex digits of the SHA-256 of
PatientID, enough to split by patient without carrying the ID.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
from collections.abc import Sequence
from os import PathLike
from pathlib import Path

import pydicom
from pydicom.errors import InvalidDicomError
from pydicom.fileset import FileSet
from pydicom.uid import (
    DigitalMammographyXRayImageStorageForPresentation,
    DigitalMammographyXRayImageStorageForProcessing,
    MediaStorageDirectoryStorage,
)

from monai_roigan.data.annotations import annotation_fields, read_roi_table
from monai_roigan.data.classes import ALL_CLASSES
from monai_roigan.data.dicom import dicom_laterality, dicom_spacing, dicom_view
from monai_roigan.utils.atomic import atomic_write
from monai_roigan.utils.cli import DefaultsHelpFormatter, configure_cli_logging
from monai_roigan.utils.progress import progress

__all__ = ["crawl_dicom_folder", "join_annotations", "write_dicom_datalist", "MAMMOGRAPHY_SOP_CLASSES", "main"]

MAMMOGRAPHY_SOP_CLASSES = (
    str(DigitalMammographyXRayImageStorageForPresentation),
    str(DigitalMammographyXRayImageStorageForProcessing),
)
logger = logging.getLogger("monai_roigan.dicom")

_HEADER_ERRORS = (
    InvalidDicomError,
    OSError,
    EOFError,
    ValueError,
    TypeError,
    KeyError,
    AttributeError,
    IndexError,
    NotImplementedError,
    OverflowError,
)


def _candidate_files(source: Path) -> list[Path]:
    """Every file under a folder (hidden ones skipped), or the files a DICOMDIR references."""
    if source.is_file():
        return [Path(instance.path) for instance in FileSet(pydicom.dcmread(source))]
    return [
        path
        for path in sorted(source.rglob("*"))
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(source).parts)
    ]


def _skip_reason(ds: pydicom.Dataset, modalities: Sequence[str]) -> str | None:
    if str(ds.file_meta.get("MediaStorageSOPClassUID", "")) == MediaStorageDirectoryStorage:
        return "DICOMDIR index (its images are crawled as files)"
    if str(ds.get("ConversionType", "")).upper() == "SYN":
        return "synthetic image (ConversionType SYN)"
    modality, sop = str(ds.get("Modality", "")), str(ds.get("SOPClassUID", ""))
    if not modality and not sop:
        return "incomplete header (no Modality and no SOPClassUID; a truncated file?)"
    if modality not in modalities and sop not in MAMMOGRAPHY_SOP_CLASSES:
        return f"not a mammogram (Modality {modality or 'missing'}, SOP class {sop or 'missing'})"
    if ds.get("Rows") is None or ds.get("Columns") is None:
        return "no image (Rows/Columns missing)"
    return None


def _entry(path: Path, ds: pydicom.Dataset) -> dict:
    patient = str(ds.get("PatientID", "") or "")
    return {
        "image": str(path),
        "study_uid": str(ds.get("StudyInstanceUID", "")),
        "series_uid": str(ds.get("SeriesInstanceUID", "")),
        "sop_uid": str(ds.get("SOPInstanceUID", "")),
        "instance_number": int(ds.get("InstanceNumber", 0) or 0),
        "patient_key": hashlib.sha256(patient.encode()).hexdigest()[:16] if patient else None,
        "laterality": dicom_laterality(ds),
        "view": dicom_view(ds),
        "modality": str(ds.get("Modality", "")),
        "rows": int(ds.Rows),
        "columns": int(ds.Columns),
        "spacing": dicom_spacing(ds),
        "dataset": "dicom",
    }


def crawl_dicom_folder(source: str | PathLike, modalities: Sequence[str] = ("MG",)) -> tuple[list[dict], list[dict]]:
    """Mammography images under ``source`` (a folder or a DICOMDIR file), and the files skipped.

    Returns:
        ``(entries, skipped)``: entries sorted by study, series, instance number and path, each with ``image``,
        ``study_uid``, ``series_uid``, ``sop_uid``, ``instance_number``, ``patient_key``, ``laterality``,
        ``view``, ``modality``, ``rows``, ``columns``, ``spacing`` ((row, col) mm or None), ``dataset``;
        skipped as ``{"path", "reason"}``.
    """
    source = Path(source).resolve()  # absolute image paths: the datalist works from any directory
    if not source.exists():
        raise FileNotFoundError(f"{source}: no such folder or DICOMDIR")
    entries, skipped = [], []
    for path in progress(_candidate_files(source), f"DICOM headers under {source}", logger=logger, unit="files"):
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True)
            reason = _skip_reason(ds, modalities)
            entry = None if reason else _entry(path, ds)
        except _HEADER_ERRORS as err:
            reason, entry = f"unreadable ({type(err).__name__}: {str(err).splitlines()[0][:200]})", None
        if entry is None:
            skipped.append({"path": str(path), "reason": reason})
        else:
            entries.append(entry)
    entries.sort(key=lambda e: (e["study_uid"], e["series_uid"], e["instance_number"], e["image"]))
    logger.info("DICOM crawl of %s: %d mammograms kept, %d files skipped", source, len(entries), len(skipped))
    return entries, skipped


_AMBIGUOUS = object()


def _lookup(entries: Sequence[dict], root: Path) -> dict[str, dict]:
    """Each entry under its path, relative path, SOPInstanceUID and file name; a key that several entries share
    (exports that name every series' files ``IM-0001``) maps to ``_AMBIGUOUS`` instead of the last one."""
    table: dict[str, object] = {}
    for entry in entries:
        path = Path(entry["image"])
        keys = {str(path), path.name, entry["sop_uid"]}
        if path.is_relative_to(root):
            keys.add(path.relative_to(root).as_posix())
        for key in keys - {""}:
            table[key] = entry if key not in table or table[key] is entry else _AMBIGUOUS
    return table


def join_annotations(
    entries: Sequence[dict],
    table: str | PathLike,
    root: str | PathLike,
    class_names: Sequence[str] = ALL_CLASSES,
) -> tuple[list[dict], list[dict]]:
    """One datalist entry per annotation row: the matched image's entry plus ``center``, ``radius``, ``class_name``,
    ``label``; and the rows that match no crawled image (``{"path", "reason"}``).

    Raises:
        AnnotationError: an unknown class or a bad number, with the line (CSV) or item index (JSON).
    """
    path, lookup = os.fspath(table), _lookup(entries, Path(root).resolve())
    joined, unmatched = [], []
    for line, row in read_roi_table(path):
        fields, key = annotation_fields(row, path, line, class_names), str(row["file"]).strip()
        match = lookup.get(key)
        if isinstance(match, dict):
            joined.append({**match, **fields})
        else:
            why = (
                "matches several images; use the relative path or SOPInstanceUID" if match else "matches no kept image"
            )
            unmatched.append({"path": f"{path}:{line}", "reason": f"annotation for {key!r} {why}"})
    return joined, unmatched


def write_dicom_datalist(path: str | PathLike, entries: Sequence[dict], skipped: Sequence[dict] = ()) -> Path:
    """Write ``{"training": entries, "skipped": skipped}`` as JSON, atomically."""
    text = json.dumps({"training": list(entries), "skipped": list(skipped)}, indent=1)
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text))


def build_parser() -> argparse.ArgumentParser:
    """The ``roigan-dicom-datalist`` argument parser (``--help`` shows every default)."""
    description = (
        "Crawl a hospital DICOM export (a folder tree or a DICOMDIR) into a MONAI datalist JSON, optionally "
        "joined with an annotation table. Progress is logged on stderr."
    )
    parser = argparse.ArgumentParser(
        prog="roigan-dicom-datalist", description=description, formatter_class=DefaultsHelpFormatter
    )
    parser.add_argument("source", help="Folder tree of DICOM files, or a DICOMDIR file, to crawl.")
    parser.add_argument(
        "--annotations",
        default=None,
        help="CSV or JSON table of lesions to join: file (path, name or SOPInstanceUID), row, col, "
        "radius, class; without it every kept image becomes one entry.",
    )
    parser.add_argument("--output", required=True, help="Datalist JSON to write (required).")
    parser.add_argument("--modalities", nargs="+", default=["MG"], help="DICOM Modality values to keep.")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """``roigan-dicom-datalist SOURCE --output datalist.json``: crawl, join the annotations, write the datalist."""
    configure_cli_logging()
    args = build_parser().parse_args(argv)
    entries, skipped = crawl_dicom_folder(args.source, args.modalities)
    root = Path(args.source) if Path(args.source).is_dir() else Path(args.source).parent
    if args.annotations:
        entries, unmatched = join_annotations(entries, args.annotations, root)
        skipped += unmatched
    write_dicom_datalist(args.output, entries, skipped)
    logger.info("%s: %d entries, %d skipped (reasons in the file)", args.output, len(entries), len(skipped))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
