import json

import numpy as np
import pytest
from PIL import Image

from monai_roigan.data.annotations import annotation_datalist
from monai_roigan.utils.errors import AnnotationError


@pytest.fixture
def folder(tmp_path):
    Image.fromarray(np.zeros((64, 64), dtype=np.uint8)).save(tmp_path / "a.png")
    return tmp_path


def test_csv_and_json_agree(folder):
    (folder / "rois.csv").write_text("file,row,col,radius,class\na.png,10,20,5,mass\na.png,,,,normal\n")
    (folder / "rois.json").write_text(
        json.dumps(
            [
                {"file": "a.png", "row": 10, "col": 20, "radius": 5, "class": "mass"},
                {"file": "a.png", "row": None, "col": None, "class": "normal"},
            ]
        )
    )
    from_csv = annotation_datalist(folder / "rois.csv")
    from_json = annotation_datalist(folder / "rois.json")
    for entries in (from_csv, from_json):
        assert [e["center"] for e in entries] == [[10, 20], None]
        assert [e["label"] for e in entries] == [3, 4] and entries[0]["radius"] == 5


@pytest.mark.parametrize(
    "table,problem",
    [
        ("file,row,class\na.png,1,mass\n", "missing column"),
        ("file,row,col,class\na.png,1,2,tumour\n", "unknown class 'tumour'"),
        ("file,row,col,class\na.png,1,two,mass\n", "col 'two' is not a number"),
        ("file,row,col,class\na.png,-4,2,mass\n", "non-negative"),
    ],
)
def test_bad_tables(folder, table, problem):
    (folder / "t.csv").write_text(table)
    with pytest.raises(AnnotationError, match=problem) as info:
        annotation_datalist(folder / "t.csv")
    assert "t.csv" in str(info.value)


def test_bad_json(folder):
    (folder / "t.json").write_text("{not json")
    with pytest.raises(AnnotationError, match="invalid JSON"):
        annotation_datalist(folder / "t.json")


def test_missing_image_warns_or_fails(folder):
    (folder / "t.csv").write_text("file,row,col,class\nmissing.dcm,1,2,mass\na.png,3,4,mass\n")
    with pytest.warns(UserWarning, match="missing.dcm"):
        assert len(annotation_datalist(folder / "t.csv")) == 1
    with pytest.raises(FileNotFoundError, match="missing.dcm"):
        annotation_datalist(folder / "t.csv", strict=True)
