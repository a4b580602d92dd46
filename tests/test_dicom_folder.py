"""A DICOM folder tree or DICOMDIR to a MONAI datalist, and the bundle trained and run from it."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.fileset import FileSet

from monai_roigan.data import (
    crawl_dicom_folder,
    join_annotations,
    mias_datalist,
    read_datalist_file,
    read_pgm,
    write_dicom_datalist,
)
from monai_roigan.data.dicom_folder import main as dicom_datalist_main
from monai_roigan.data.dicom_writer import SyntheticSeries, synthetic_dicom_dataset, write_synthetic_dicom
from monai_roigan.transforms import LoadMammogram
from monai_roigan.utils import AnnotationError
from tests.conftest import REPO, write_dicom

PIXELS = (np.arange(32 * 32) % 4096).astype(np.uint16).reshape(32, 32)


@pytest.fixture
def export(tmp_path):
    """A messy hospital export: mammograms in nested study/series folders, plus things to skip."""
    root = tmp_path / "export"
    (root / "study1" / "series1").mkdir(parents=True)
    (root / "study2").mkdir()
    common = dict(
        BitsStored=12,
        StudyInstanceUID="1.2.3.1",
        PatientID="P-1",
        PatientName="X",
        StudyDate="20200101",
        StudyTime="120000",
        StudyID="1",
        SeriesNumber=1,
    )
    write_dicom(
        root / "study1" / "series1" / "IM2",
        PIXELS,
        SeriesInstanceUID="1.2.3.1.1",
        InstanceNumber=2,
        ImageLaterality="L",
        ViewPosition="CC",
        SOPInstanceUID="1.2.3.1.1.2",
        **common,
    )
    write_dicom(
        root / "study1" / "series1" / "IM1",
        PIXELS,
        SeriesInstanceUID="1.2.3.1.1",
        InstanceNumber=1,
        ImageLaterality="L",
        ViewPosition="MLO",
        SOPInstanceUID="1.2.3.1.1.1",
        **common,
    )
    write_dicom(
        root / "study2" / "cbis_style.dcm",
        PIXELS,
        StudyInstanceUID="1.2.3.2",
        SeriesInstanceUID="1.2.3.2.1",
        Laterality="R",
        PatientOrientation="CC",
        SOPInstanceUID="1.2.3.2.1.1",
        PatientID="P-2",
    )
    write_dicom(root / "study2" / "ct.dcm", PIXELS, Modality="CT")
    (root / "study2" / "notes.txt").write_text("not dicom")
    (root / "study2" / "truncated.dcm").write_bytes((root / "study2" / "cbis_style.dcm").read_bytes()[:150])
    synthetic = synthetic_dicom_dataset(np.zeros((8, 8)), "mass", 0, 0, "test", SyntheticSeries())
    write_synthetic_dicom(root / "study2" / "synthetic.dcm", synthetic)
    (root / ".hidden").mkdir()
    write_dicom(root / ".hidden" / "skipme.dcm", PIXELS)
    return root


def test_crawl_keeps_mammograms_groups_and_reports_the_rest(export):
    entries, skipped = crawl_dicom_folder(export)
    assert [e["sop_uid"] for e in entries] == ["1.2.3.1.1.1", "1.2.3.1.1.2", "1.2.3.2.1.1"]  # study, series, number
    assert [(e["laterality"], e["view"]) for e in entries] == [("L", "MLO"), ("L", "CC"), ("R", "CC")]
    assert entries[0]["patient_key"] != entries[2]["patient_key"] and "P-1" not in json.dumps(entries)
    reasons = {p.split("/")[-1]: r for p, r in ((s["path"], s["reason"]) for s in skipped)}
    assert set(reasons) == {"ct.dcm", "notes.txt", "truncated.dcm", "synthetic.dcm"}
    assert reasons["ct.dcm"].startswith("not a mammogram (Modality CT")
    assert reasons["notes.txt"].startswith("unreadable (InvalidDicomError")
    assert reasons["truncated.dcm"].startswith("incomplete header")
    assert reasons["synthetic.dcm"] == "synthetic image (ConversionType SYN)"
    assert LoadMammogram()(entries[0]["image"]).shape == (1, 32, 32)


def test_crawl_a_dicomdir(tmp_path, export):
    fileset = FileSet()
    for path in sorted((export / "study1" / "series1").iterdir()):
        fileset.add(pydicom.dcmread(path))
    fileset.write(tmp_path / "media")
    entries, skipped = crawl_dicom_folder(tmp_path / "media" / "DICOMDIR")
    assert [e["sop_uid"] for e in entries] == ["1.2.3.1.1.1", "1.2.3.1.1.2"] and skipped == []
    folder_entries, folder_skipped = crawl_dicom_folder(tmp_path / "media")
    assert [e["sop_uid"] for e in folder_entries] == ["1.2.3.1.1.1", "1.2.3.1.1.2"]
    assert [s["reason"] for s in folder_skipped] == ["DICOMDIR index (its images are crawled as files)"]


def test_join_annotations_by_path_name_or_uid(tmp_path, export):
    entries, _ = crawl_dicom_folder(export)
    table = tmp_path / "lesions.csv"
    table.write_text(
        "file,row,col,radius,class\nstudy1/series1/IM1,10,12,5,mass\nIM2,3,4,,architectural_distortion\n"
        "1.2.3.2.1.1,20,20,6,asymmetry\nmissing.dcm,1,1,1,mass\n"
    )
    joined, unmatched = join_annotations(entries, table, export)
    assert [(e["sop_uid"], e["center"], e["radius"], e["class_name"], e["label"]) for e in joined] == [
        ("1.2.3.1.1.1", [10, 12], 5, "mass", 3),
        ("1.2.3.1.1.2", [3, 4], None, "architectural_distortion", 0),
        ("1.2.3.2.1.1", [20, 20], 6, "asymmetry", 1),
    ]
    assert unmatched == [{"path": f"{table}:5", "reason": "annotation for 'missing.dcm' matches no kept image"}]
    table.write_text("file,row,col,class\nIM1,1,1,tumour\n")
    with pytest.raises(AnnotationError, match="line 2: unknown class 'tumour'"):
        join_annotations(entries, table, export)


def test_command_writes_a_datalist_the_reader_accepts(tmp_path, export):
    table = tmp_path / "lesions.json"
    table.write_text(json.dumps([{"file": "IM1", "row": 5, "col": 6, "class": "calcification"}]))
    assert dicom_datalist_main([str(export), "--annotations", str(table), "--output", str(tmp_path / "d.json")]) == 0
    written = json.loads((tmp_path / "d.json").read_text())
    assert len(written["training"]) == 1 and len(written["skipped"]) == 4
    assert read_datalist_file(tmp_path / "d.json") == written["training"]
    (tmp_path / "bad.json").write_text('{"training": [{"no_image": 1}]}')
    with pytest.raises(AnnotationError, match="bad.json: expected a list of entries"):
        read_datalist_file(tmp_path / "bad.json")


def phantom_as_dicom(phantom_dir, root):
    """The phantom's mammograms re-encoded as MG DICOM (12 bits in 16), and its lesions as an annotation table."""
    rows = ["file,row,col,radius,class"]
    for entry in mias_datalist(phantom_dir):
        name = f"{entry['refnum']}.dcm"
        if not (root / name).exists():
            pixels, _ = read_pgm(entry["image"])
            write_dicom(root / name, pixels.astype(np.uint16) * 16, BitsStored=12, PatientID=entry["refnum"])
        if entry["center"] is not None and entry["class_name"] != "normal":
            rows.append(f"{name},{entry['center'][0]},{entry['center'][1]},{entry['radius']},{entry['class_name']}")
    (root.parent / "lesions.csv").write_text("\n".join(rows) + "\n")
    return root.parent / "lesions.csv"


def test_bundle_trains_from_a_dicom_datalist_and_writes_dicom(tmp_path, phantom_dir):
    export = tmp_path / "export"
    export.mkdir()
    table = phantom_as_dicom(phantom_dir, export)
    entries, skipped = crawl_dicom_folder(export)
    joined, unmatched = join_annotations(entries, table, export)
    assert len(entries) == 12 and skipped == [] and unmatched == [] and len(joined) >= 4
    write_dicom_datalist(tmp_path / "datalist.json", joined)
    bundle = [sys.executable, "-m", "monai.bundle", "run"]
    train = [
        *bundle,
        "training",
        "--config_file",
        str(REPO / "bundle" / "configs" / "train.json"),
        "--bundle_root",
        str(tmp_path),
        "--datalist",
        str(tmp_path / "datalist.json"),
        "--max_epochs",
        "1",
        "--augment",
        "rot90",
        "--width",
        "0.0625",
        "--d_width",
        "0.0625",
        "--quality_interval",
        "0",
    ]
    result = subprocess.run(train, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert list((tmp_path / "data").glob("rois_datalist_*.npz")) and not (tmp_path / "data" / "phantom").exists()
    configs = "[" + ",".join(f"'{REPO / 'bundle' / 'configs' / n}'" for n in ("train.json", "inference.json")) + "]"
    infer = [
        *bundle,
        "inference",
        "--config_file",
        configs,
        "--bundle_root",
        str(tmp_path),
        "--num_per_class",
        "2",
        "--output_format",
        "dicom",
    ]
    result = subprocess.run(infer, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    written = sorted((tmp_path / "runs" / "inference").rglob("*.dcm"))
    assert len(written) == 8 and not list((tmp_path / "runs" / "inference").rglob("*.png"))
    ds = pydicom.dcmread(written[0])
    assert ds.ConversionType == "SYN" and "sha256:" in ds.ImageComments
    assert LoadMammogram()(written[0]).shape == (1, 64, 64)


def test_a_file_name_shared_by_two_images_is_ambiguous_not_the_last_one(tmp_path, export, monkeypatch):
    write_dicom(export / "study2" / "IM1", PIXELS, SOPInstanceUID="1.2.3.9", StudyInstanceUID="1.2.3.2")
    monkeypatch.chdir(export.parent)
    entries, _ = crawl_dicom_folder("export")  # a relative folder still gives absolute image paths
    assert all(Path(e["image"]).is_absolute() for e in entries)
    table = tmp_path / "lesions.csv"
    table.write_text("file,row,col,class\nIM1,1,1,mass\nstudy2/IM1,2,2,mass\n")
    joined, unmatched = join_annotations(entries, table, "export")
    assert [e["sop_uid"] for e in joined] == ["1.2.3.9"]
    assert (
        unmatched[0]["reason"] == "annotation for 'IM1' matches several images; use the relative path or SOPInstanceUID"
    )
