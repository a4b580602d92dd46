import json
import logging
import warnings
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from monai_roigan.apps import prepare_roi_dataset
from monai_roigan.apps.prepare import main
from monai_roigan.data import dihedral_variants, load_roi_cache, mias_datalist, mias_woman, roi_cache_datalist


@pytest.fixture(scope="module")
def phantom_datalist(phantom_dir):
    return mias_datalist(phantom_dir)


def test_dihedral_variants_are_distinct():
    roi = np.arange(16, dtype=np.float32).reshape(1, 4, 4)
    variants = dihedral_variants(roi, "dihedral")
    assert [n for n, _ in variants] == ["r0", "r90", "r180", "r270", "r0-flip", "r90-flip", "r180-flip", "r270-flip"]
    assert len({v.tobytes() for _, v in variants}) == 8
    assert len(dihedral_variants(roi, "rot90")) == 4 and len(dihedral_variants(roi, "none")) == 1
    with pytest.raises(ValueError, match="augment"):
        dihedral_variants(roi, "mirror")


def test_npz_cache_counts_values_and_provenance(phantom_datalist, tmp_path):
    summary = prepare_roi_dataset(phantom_datalist, tmp_path / "rois.npz", normal_per_image=3, verbose=False)
    cache = load_roi_cache(tmp_path / "rois.npz")
    n = len(cache["labels"])
    lesions = sum(1 for e in phantom_datalist if e["center"] is not None)
    normals = sum(1 for e in phantom_datalist if e["class_name"] == "normal")
    assert n == summary["num_rois"] == lesions + 3 * normals
    assert cache["images"].shape == (n, 1, 64, 64) and cache["images"].dtype == np.float32
    assert cache["images"].min() >= -1.0 and cache["images"].max() <= 1.0
    assert summary["counts"] == {c: int((cache["labels"] == k).sum()) for k, c in enumerate(cache["class_names"])}
    assert set(cache["groups"]) <= {e["patient_id"] for e in phantom_datalist}  # the woman: splits keep her together
    assert all(g == mias_woman(Path(src).stem) for g, src in zip(cache["groups"], cache["sources"]))
    np.testing.assert_allclose(cache["spacing_mm"], 0.4)  # 0.2 mm * 128 / 64
    assert cache["manifest"]["roi_size"] == 128


def test_same_seed_same_rois_other_seed_other_normals(phantom_datalist, tmp_path):
    prepare_roi_dataset(phantom_datalist, tmp_path / "a.npz", seed=3, verbose=False)
    prepare_roi_dataset(list(reversed(phantom_datalist)), tmp_path / "b.npz", seed=3, verbose=False)
    prepare_roi_dataset(phantom_datalist, tmp_path / "c.npz", seed=4, verbose=False)
    a, b, c = (load_roi_cache(tmp_path / f"{k}.npz") for k in "abc")
    order_a, order_b = (
        np.lexsort((a["centers"][:, 1], a["centers"][:, 0], a["sources"])),
        np.lexsort((b["centers"][:, 1], b["centers"][:, 0], b["sources"])),
    )
    np.testing.assert_array_equal(a["images"][order_a], b["images"][order_b])  # order does not matter
    normal = list(a["class_names"]).index("normal")
    assert not np.array_equal(a["centers"][a["labels"] == normal], c["centers"][c["labels"] == normal])


def test_rois_without_centre_are_counted_not_guessed(phantom_datalist, tmp_path):
    broken = [dict(e) for e in phantom_datalist]
    lesion = next(e for e in broken if e["center"] is not None)
    lesion["center"] = None
    summary = prepare_roi_dataset(broken, tmp_path / "r.npz", normal_per_image=0, verbose=False)
    assert summary["skipped_without_center"] == {lesion["class_name"]: 1}
    assert summary["counts"]["normal"] == 0


def test_augmentation_and_nifti_output(phantom_datalist, tmp_path):
    lesions = [e for e in phantom_datalist if e["center"] is not None][:3]
    prepare_roi_dataset(lesions, tmp_path / "nii", augment="dihedral", output_format="nifti", verbose=False)
    listing = json.loads((tmp_path / "nii" / "datalist.json").read_text())
    items = listing["items"]
    assert len(items) == 24 and {i["augmentation"] for i in items} == {
        "r0",
        "r90",
        "r180",
        "r270",
        "r0-flip",
        "r90-flip",
        "r180-flip",
        "r270-flip",
    }
    first = nib.load(tmp_path / "nii" / items[0]["image"])
    assert first.shape == (64, 64) and np.allclose(first.header.get_zooms(), (0.4, 0.4))
    rotated = np.asarray(nib.load(tmp_path / "nii" / items[1]["image"]).dataobj)
    np.testing.assert_allclose(rotated, np.rot90(np.asarray(first.dataobj)), atol=1e-6)


def test_cache_as_monai_datalist(phantom_datalist, tmp_path):
    prepare_roi_dataset(phantom_datalist, tmp_path / "rois.npz", verbose=False)
    items = roi_cache_datalist(tmp_path / "rois.npz", classes=["mass"])
    assert items and all(i["class_name"] == "mass" and tuple(i["image"].shape) == (1, 64, 64) for i in items)
    assert items[0]["image"].meta["source_path"] == items[0]["source"]


def test_not_a_cache(tmp_path):
    np.savez(tmp_path / "x.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match="not a monai-roigan ROI cache"):
        load_roi_cache(tmp_path / "x.npz")


def test_command_line_on_phantom(tmp_path, capsys, caplog):
    caplog.set_level(logging.INFO, logger="monai_roigan")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a fresh phantom has every image its Info.txt names
        assert (
            main(
                [
                    "--dataset",
                    "phantom",
                    "--dataset_dir",
                    str(tmp_path / "ph"),
                    "--num_images",
                    "6",
                    "--output",
                    str(tmp_path / "rois.npz"),
                ]
            )
            == 0
        )
    assert capsys.readouterr().out == ""  # the summary is logged, not printed
    out = caplog.text
    assert "ROIs written to" in out and "total" in out
    total = int(next(line.split()[-1] for line in out.splitlines() if line.startswith("total")))
    assert total == len(load_roi_cache(tmp_path / "rois.npz")["labels"]) > 0
