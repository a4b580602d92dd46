from collections import Counter

import numpy as np
import pytest

from monai_roigan.apps.prepare import patient_group
from monai_roigan.data.classes import MIAS_CODES
from monai_roigan.data.mias import mias_datalist, mias_woman, parse_mias_info
from monai_roigan.data.splits import group_kfold, holdout_groups
from monai_roigan.utils.errors import AnnotationError, MissingImageError

HEADER = "MIAS-like header\nwith free text, 1st column: ...\n=====\n\n"


def write_info(tmp_path, rows: str, header: str = HEADER):
    path = tmp_path / "Info.txt"
    path.write_text(header + rows + "\n=====\n")
    return path


def test_real_info_counts(mias_dir):
    records = parse_mias_info(mias_dir / "Info.txt")
    assert len(records) == 330
    assert Counter(r.code for r in records) == {
        "NORM": 207,
        "CALC": 30,
        "CIRC": 25,
        "SPIC": 19,
        "MISC": 15,
        "ARCH": 19,
        "ASYM": 15,
    }


def test_real_info_rows_without_centre(mias_dir):
    records = parse_mias_info(mias_dir / "Info.txt")
    no_centre = {r.refnum for r in records if r.center is None and r.code != "NORM"}
    assert no_centre == {"mdb059", "mdb216", "mdb233", "mdb245"}  # mdb059 and the three *NOTE 3* CALC rows
    assert all(r.radius is None for r in records if r.refnum in no_centre)


def test_bottom_left_origin_converted(mias_dir):
    records = parse_mias_info(mias_dir / "Info.txt")
    first = records[0]  # mdb001 G CIRC B 535 425 197
    assert (first.refnum, first.tissue, first.code, first.severity) == ("mdb001", "G", "CIRC", "B")
    assert first.center == (1024 - 425, 535) and first.radius == 197
    assert [r.center for r in records if r.refnum == "mdb005"] == [(1024 - 133, 477), (1024 - 168, 500)]


def test_laterality_from_refnum_parity(tmp_path):
    records = parse_mias_info(write_info(tmp_path, "mdb001 G NORM\nmdb002 F NORM"))
    assert [r.laterality for r in records] == ["R", "L"]


@pytest.mark.parametrize(
    "row,problem",
    [
        ("mdb010 X CIRC B 1 2 3", "unknown tissue"),
        ("mdb010 F BLOB B 1 2 3", "unknown abnormality class"),
        ("mdb010 F CIRC Q 1 2 3", "severity"),
        ("mdb010 F CIRC B 1 2", "three integer values"),
        ("mdb010 F CIRC B a b c", "three integer values"),
        ("mdb010 F CIRC B 5000 2 3", "outside"),
        ("mdb010 F NORM B", "NORM row"),
        ("this is garbage", "malformed row"),
    ],
)
def test_garbage_lines_name_the_line(tmp_path, row, problem):
    path = write_info(tmp_path, f"mdb001 G CIRC B 535 425 197\n{row}\nmdb003 D NORM")
    with pytest.raises(AnnotationError, match=problem) as info:
        parse_mias_info(path)
    assert info.value.line == 6 and "line 6" in str(info.value) and str(path) in str(info.value)


def test_no_table_at_all(tmp_path):
    with pytest.raises(AnnotationError, match="no MIAS table rows"):
        parse_mias_info(write_info(tmp_path, "", header="only text\n"))


def test_datalist_skips_missing_images_with_warning(mias_dir):
    with pytest.warns(UserWarning, match="missing image"):
        entries = mias_datalist(mias_dir)
    assert len({e["refnum"] for e in entries}) == 100  # the 100 images present in the partial copy
    first = next(e for e in entries if e["refnum"] == "mdb001")
    assert first["class_name"] == "mass" and first["label"] == 3 and first["center"] == [599, 535]
    assert (first["laterality"], first["view"], first["spacing"]) == ("R", "MLO", 0.2)
    with pytest.raises(MissingImageError, match="mdb003.pgm"):
        mias_datalist(mias_dir, strict=True)


def test_class_map_and_normals(mias_dir):
    with pytest.warns(UserWarning):
        entries = mias_datalist(mias_dir, include_normal=False, class_map={"CALC": "calcification", "ARCH": None})
    assert {e["abnormality"] for e in entries} == {"CALC"}
    with pytest.raises(ValueError, match="unknown MIAS codes"):
        mias_datalist(mias_dir, class_map={"XYZ": "mass"})


def test_woman_pairs_right_and_left_breast():
    assert mias_woman("mdb001") == mias_woman("mdb002") == "mias-w001"
    assert mias_woman("mdb003") == mias_woman("mdb004") != mias_woman("mdb002")
    assert mias_woman("mdb322") == "mias-w161"
    with pytest.raises(ValueError, match="not an MIAS reference number"):
        mias_woman("mdb1")


def test_no_woman_on_both_sides_of_any_split_of_the_real_info(mias_dir):
    """Every split keeps a woman's two images together, on the 330 rows of the real Info.txt."""
    records = parse_mias_info(mias_dir / "Info.txt")
    rows = [{"refnum": r.refnum, "image": f"{r.refnum}.pgm", "patient_id": mias_woman(r.refnum)} for r in records]
    groups = np.array([patient_group(r) for r in rows])
    labels = np.array([sorted(MIAS_CODES).index(r.code) for r in records])
    assert len(set(groups)) == 161 and len({r.refnum for r in records}) == 322  # 322 images of 161 women
    women_of = lambda mask: set(groups[mask])  # noqa: E731
    for seed in range(3):
        held = holdout_groups(groups, labels, 0.3, seed)
        assert held and not held & women_of(~np.isin(groups, sorted(held)))
        folds = group_kfold(groups, labels, 5, seed)
        for fold in range(5):
            assert not women_of(folds == fold) & women_of(folds != fold)
    # the pairing is what keeps them together: split by image, some women do land on both sides
    images = np.array([r.refnum for r in records])
    folds = group_kfold(images, labels, 5, 0)
    assert any(women_of(folds == f) & women_of(folds != f) for f in range(5))


def test_datalist_entries_carry_the_woman(mias_dir):
    entries = mias_datalist(mias_dir, include_normal=True)
    assert entries and all(e["patient_id"] == mias_woman(e["refnum"]) for e in entries)
    assert all(patient_group(e) == e["patient_id"] for e in entries)
