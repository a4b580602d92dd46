"""DICOM out: synthetic ROIs as Secondary Capture files marked SYNTHETIC, no PHI from a source, round trips."""

import re

import nibabel as nib
import numpy as np
import pydicom
import pytest
import torch
from pydicom.uid import UID, SecondaryCaptureImageStorage

from monai_roigan.apps import as_formats, generate_rois
from monai_roigan.data.dicom_writer import (
    PLACEHOLDER_PATIENT,
    SyntheticSeries,
    synthetic_dicom_dataset,
    to_uint16,
    write_synthetic_dicom,
)
from monai_roigan.networks import GeneratorSource, latent_for
from monai_roigan.networks.nets import ROIGenerator
from monai_roigan.transforms import (
    LoadMammogram,
    LoadMammogramd,
    SaveSyntheticDICOM,
    SaveSyntheticDICOMd,
    SyntheticROIAugmentd,
)
from tests.conftest import write_dicom

CLASSES = ["architectural_distortion", "asymmetry", "calcification", "mass"]
#: Type 1 and 2 attributes of the Secondary Capture Image IOD's modules (PS3.3 A.8.1): Patient, General Study,
#: General Series, SC Equipment, General Image, Image Pixel, SOP Common.
SC_REQUIRED = [
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "StudyInstanceUID",
    "StudyDate",
    "StudyTime",
    "ReferringPhysicianName",
    "StudyID",
    "AccessionNumber",
    "Modality",
    "SeriesInstanceUID",
    "SeriesNumber",
    "Laterality",
    "ConversionType",
    "InstanceNumber",
    "PatientOrientation",
    "SamplesPerPixel",
    "PhotometricInterpretation",
    "Rows",
    "Columns",
    "BitsAllocated",
    "BitsStored",
    "HighBit",
    "PixelRepresentation",
    "PixelData",
    "SOPClassUID",
    "SOPInstanceUID",
]
PHI = {
    "PatientName": "DOE^JANE",
    "PatientID": "PID-738291",
    "PatientBirthDate": "19610214",
    "AccessionNumber": "ACC-55512",
    "InstitutionName": "St Elsewhere General",
    "StudyInstanceUID": "1.2.826.0.1.3680043.10.999.1234567",
}


@pytest.fixture(scope="module")
def generator():
    torch.manual_seed(0)
    return ROIGenerator(latent_dim=16, num_classes=4, width=1 / 64).eval()


def roi(seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (64, 64)).astype(np.float32)


def write_one(path, image, class_name="mass", index=3, series=None):
    ds = synthetic_dicom_dataset(
        image, class_name, 7, index, "monai-roigan bundle 0.2.0 sha256:abc123", series or SyntheticSeries()
    )
    return write_synthetic_dicom(path, ds)


def test_written_object_is_a_conformant_secondary_capture_marked_synthetic(tmp_path):
    path = write_one(tmp_path / "a.dcm", roi())
    assert path.read_bytes()[128:132] == b"DICM"  # preamble, prefix and file meta (PS3.10)
    ds = pydicom.dcmread(path)
    assert [k for k in SC_REQUIRED if k not in ds] == []
    assert ds.SOPClassUID == SecondaryCaptureImageStorage == ds.file_meta.MediaStorageSOPClassUID
    assert ds.SOPInstanceUID == ds.file_meta.MediaStorageSOPInstanceUID
    assert all(UID(ds[k].value).is_valid for k in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"))
    assert list(ds.ImageType) == ["DERIVED", "SECONDARY"] and ds.BurnedInAnnotation == "NO"
    assert ds.ConversionType == "SYN" and ds.Modality == "OT"
    assert ds.SeriesDescription.startswith("SYNTHETIC") and ds.ImageComments.startswith("SYNTHETIC")
    for fact in ("sha256:abc123", "class=mass", "seed=7", "index=3"):
        assert fact in ds.ImageComments and fact in ds.DerivationDescription
    assert {k: str(ds[k].value) for k in PLACEHOLDER_PATIENT} == PLACEHOLDER_PATIENT
    assert (ds.PhotometricInterpretation, ds.BitsStored, ds.PixelRepresentation) == ("MONOCHROME2", 16, 0)
    assert [float(v) for v in ds.PixelSpacing] == [0.4, 0.4] and ds.InstanceNumber == 4


def test_fresh_uids_one_study_one_series_per_class(tmp_path):
    series = SyntheticSeries()
    files = [write_one(tmp_path / f"{c}{i}.dcm", roi(i), c, i, series) for c in ("mass", "asymmetry") for i in range(2)]
    sets = [pydicom.dcmread(f) for f in files]
    assert len({d.StudyInstanceUID for d in sets}) == 1
    assert len({d.SOPInstanceUID for d in sets}) == 4
    by_class = {d.SeriesDescription: d.SeriesInstanceUID for d in sets}
    assert len(by_class) == 2 and len(set(by_class.values())) == 2
    assert SyntheticSeries().study_uid != series.study_uid


def test_round_trip_through_pydicom_and_load_mammogram(tmp_path):
    image = roi()
    path = write_one(tmp_path / "a.dcm", image)
    stored = to_uint16(image)
    np.testing.assert_array_equal(pydicom.dcmread(path).pixel_array, stored)
    loaded = LoadMammogram()(path)
    assert loaded.shape == (1, 64, 64) and loaded.meta["spacing"] == (0.4, 0.4)
    back = loaded[0].numpy() * 2 - 1
    assert np.abs(back - image).max() <= 1 / 65535 + 1e-6
    assert np.abs(back - image).max() > 0  # it is a quantisation, and the bound above is tight


def test_itk_reads_the_stored_values_and_spacing(tmp_path):
    """ITK is a test dependency only (the ``test`` extra): the package itself never imports it."""
    itk = pytest.importorskip("itk")
    image = roi()
    path = write_one(tmp_path / "a.dcm", image)
    itk_image = itk.imread(str(path))
    np.testing.assert_array_equal(itk.array_view_from_image(itk_image).reshape(64, 64), to_uint16(image))
    assert list(itk_image.GetSpacing())[:2] == [0.4, 0.4]


def test_out_of_range_values_are_clipped_and_non_finite_refused():
    np.testing.assert_array_equal(to_uint16(np.array([-3.0, -1.0, 0.0, 1.0, 2.0])), [0, 0, 32768, 65535, 65535])
    with pytest.raises(ValueError, match="non-finite"):
        to_uint16(np.array([0.0, np.nan]))


def test_generate_rois_dicom_and_nifti_round_trip(tmp_path, generator):
    records = generate_rois(
        generator, CLASSES, 3, tmp_path, seed=4, formats=["nifti", "dicom"], generator_id="test-generator sha256:0123"
    )
    assert len(records) == 12 and all(len(r["files"]) == 2 for r in records)
    sets = {}
    for rec in records:
        nifti_path, dicom_path = rec["files"]
        original = np.asarray(nib.load(nifti_path).dataobj)
        from_dicom = LoadMammogram()(dicom_path)[0].numpy() * 2 - 1
        assert np.abs(from_dicom - original).max() <= 1 / 65535 + 1e-6
        ds = pydicom.dcmread(dicom_path)
        assert ds.InstanceNumber == rec["index"] + 1 and f"class={rec['class_name']}" in ds.ImageComments
        assert "test-generator sha256:0123" in ds.ImageComments
        sets.setdefault(rec["class_name"], set()).add(ds.SeriesInstanceUID)
    assert all(len(uids) == 1 for uids in sets.values()) and len(set().union(*sets.values())) == 4
    # NIfTI holds the generator's float32 output exactly
    z = latent_for(4, 3, 0, 16)[None]
    with torch.no_grad():
        expected = generator(z, torch.tensor([3]))[0, 0].numpy()
    np.testing.assert_allclose(np.asarray(nib.load(records[9]["files"][0]).dataobj), expected, atol=1e-6)


def test_no_phi_from_a_source_dicom_reaches_any_output(tmp_path, generator):
    """A pipeline that reads a patient's DICOM and writes synthetic ROIs: no identifying value in any output byte."""
    source = write_dicom(
        tmp_path / f"{PHI['PatientID']}_mammo.dcm",
        (np.arange(64 * 64) % 4096).astype(np.uint16).reshape(64, 64),
        BitsStored=12,
        **PHI,
    )
    assert all(value.encode() in source.read_bytes() for value in PHI.values())  # the source does carry them
    out = tmp_path / "out"
    augment = SyntheticROIAugmentd(
        "image", GeneratorSource(generator), prob=1.0, class_names=CLASSES, generator_classes=CLASSES
    )
    augment.set_random_state(0)
    sample = augment(LoadMammogramd("image")({"image": str(source), "label": 3}))
    SaveSyntheticDICOMd("image", out)(sample)
    generate_rois(generator, CLASSES, 2, out / "generated", formats=["png", "nifti", "dicom"])
    written = [p for p in out.rglob("*") if p.is_file()]
    assert len([p for p in written if p.suffix == ".dcm"]) == 9
    for path in written:
        data = path.read_bytes()
        leaked = [k for k, v in PHI.items() if v.encode() in data or v.encode("utf-16-le") in data]
        assert not leaked, f"{path} carries {leaked}"
        assert PHI["PatientID"] not in str(path)


def test_every_draw_from_the_pool_is_its_own_file(tmp_path, generator):
    """Drawn with replacement, one pool ROI comes out many times; each output is written, none overwritten."""
    augment = SyntheticROIAugmentd(
        "image", GeneratorSource(generator), prob=1.0, class_names=CLASSES, generator_classes=CLASSES, pool_size=2
    ).set_random_state(0)
    save = SaveSyntheticDICOMd("image", tmp_path / "out")
    samples = [save(augment({"image": torch.zeros(1, 64, 64), "label": 3})) for _ in range(12)]
    assert {s["image"].meta["synthetic_index"] for s in samples} == {0, 1}  # two latents, twelve outputs
    files = sorted((tmp_path / "out" / "mass").glob("*.dcm"))
    assert len(files) == 12 and {s["image"].meta["saved_to"] for s in samples} == {str(f) for f in files}
    assert all(re.fullmatch(r"mass_s0_0000[01]_d\d+\.dcm", f.name) for f in files)


def test_save_refuses_a_real_image_and_the_dict_version_skips_it(tmp_path, dicom_factory):
    real = LoadMammogram()(dicom_factory(np.zeros((8, 8), np.uint16)))
    with pytest.raises(ValueError, match="synthetic ROIs only"):
        SaveSyntheticDICOM(tmp_path / "out")(real)
    SaveSyntheticDICOMd("image", tmp_path / "out")({"image": real})
    assert not (tmp_path / "out").exists()


def test_output_format_values_from_the_command_line():
    assert as_formats("dicom") == ["dicom"] and as_formats("png, DICOM") == ["png", "dicom"]
    assert as_formats(("nifti", "dicom")) == ["nifti", "dicom"]  # MONAI's CLI turns "nifti,dicom" into a tuple
    assert as_formats(None, ["png"]) == ["png"]
