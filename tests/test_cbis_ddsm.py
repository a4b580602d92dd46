import numpy as np
import pytest

from monai_roigan.data.cbis_ddsm import (
    CBIS_SHAPE_CLASSES,
    cbis_ddsm_datalist,
    read_cbis_ddsm_csv,
    resolve_cbis_path,
)
from monai_roigan.utils.errors import AnnotationError
from tests.conftest import write_dicom

HEADER = (
    "patient_id,breast_density,left or right breast,image view,abnormality id,abnormality type,mass shape,"
    "mass margins,assessment,pathology,subtlety,image file path,cropped image file path,ROI mask file path\n"
)


@pytest.mark.parametrize(
    "name,rows",
    [
        ("calc_case_description_test_set.csv", 326),
        ("calc_case_description_train_set.csv", 1546),
        ("mass_case_description_test_set.csv", 378),
        ("mass_case_description_train_set.csv", 1318),
    ],
)
def test_real_csvs(cbis_dir, name, rows):
    records = read_cbis_ddsm_csv(cbis_dir / name)
    assert len(records) == rows
    assert "breast_density" in records[0].extra  # both header spellings normalised
    assert all("\n" not in r.mask_path and "\n" not in r.cropped_path for r in records)  # embedded newlines stripped
    assert {r.abnormality_type for r in records} == {"mass" if name.startswith("mass") else "calcification"}
    assert {r.laterality for r in records} == {"L", "R"} and {r.view for r in records} == {"CC", "MLO"}


def test_real_datalist_resolves_the_two_shared_images(cbis_dir):
    with pytest.warns(UserWarning, match="missing image"):
        entries = cbis_ddsm_datalist(sorted(cbis_dir.glob("mass_*.csv")), cbis_dir)
    by_patient = {e["patient_id"]: e for e in entries}
    assert set(by_patient) == {"P_00173", "P_00820"}
    assert by_patient["P_00173"]["severity"] == "B" and by_patient["P_00820"]["severity"] == "M"
    assert by_patient["P_00820"]["mass_margins"] == "SPICULATED" and by_patient["P_00820"]["class_name"] == "mass"


def test_missing_columns_named(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("patient_id,pathology\nP_1,BENIGN\n")
    with pytest.raises(AnnotationError, match="missing column.*image_file_path") as info:
        read_cbis_ddsm_csv(path)
    assert "bad.csv" in str(info.value)


def test_bad_row_has_line_number(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(
        HEADER + "P_1,2,LEFT,CC,1,mass,OVAL,X,3,BENIGN,3,a,b,c\nP_2,2,MIDDLE,CC,1,mass,OVAL,X,3,BENIGN,3,a,b,c\n"
    )
    with pytest.raises(AnnotationError, match="line 3"):
        read_cbis_ddsm_csv(path)


def test_nbia_layout_and_mask_selection(tmp_path):
    """A TCIA download does not use the CSV's file names; the mask is the full-size file of its folder."""
    image = np.zeros((120, 80), dtype=np.uint16)
    image[40:80, 10:50] = 30000
    case = tmp_path / "CBIS-DDSM" / "Mass-Training_P_00001_LEFT_CC" / "07-20-2016-DDSM-123" / "1.000-full"
    case.mkdir(parents=True)
    write_dicom(case / "1-1.dcm", image)
    roi = tmp_path / "CBIS-DDSM" / "Mass-Training_P_00001_LEFT_CC_1" / "07-21-2016-DDSM-456"
    (roi / "1.000-crop").mkdir(parents=True)
    (roi / "2.000-mask").mkdir(parents=True)
    mask = np.zeros((120, 80), dtype=np.uint8)
    mask[50:70, 20:40] = 255
    write_dicom(roi / "1.000-crop" / "1-1.dcm", image[40:80, 10:50].copy())
    write_dicom(roi / "2.000-mask" / "1-2.dcm", mask)
    csv_path = tmp_path / "mass.csv"
    csv_path.write_text(
        HEADER + "P_00001,3,LEFT,CC,1,mass,IRREGULAR-ARCHITECTURAL_DISTORTION,SPICULATED,4,MALIGNANT,4,"
        "Mass-Training_P_00001_LEFT_CC/1.3.6/1.3.6.1/000000.dcm,"
        '"Mass-Training_P_00001_LEFT_CC_1/1.3.6/1.3.6.2/000000.dcm\n",'
        "Mass-Training_P_00001_LEFT_CC_1/1.3.6/1.3.6.2/000001.dcm\n"
    )
    (entry,) = cbis_ddsm_datalist(csv_path, tmp_path, mass_shape_classes=CBIS_SHAPE_CLASSES)
    assert entry["image"].endswith("1.000-full/1-1.dcm")
    assert entry["mask"].endswith("2.000-mask/1-2.dcm")  # the full-size file, whatever the CSV column says
    assert entry["class_name"] == "architectural_distortion" and entry["label"] == 0
    (plain,) = cbis_ddsm_datalist(csv_path, tmp_path)
    assert plain["class_name"] == "mass"
    assert resolve_cbis_path(tmp_path, "Mass-Training_P_00009_LEFT_CC/x/y/000000.dcm") is None
