"""Bugs a new user hit, each reproduced as reported: a batch or a volume given to the augmentation, ROIs that
lose their pixel spacing or overwrite each other when saved, synthetic file names Windows cannot hold, and the
README's one-line balancing of a dataset of loaded ROIs."""

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import torch
from monai.data import CacheDataset, Dataset
from monai.transforms import Compose, SaveImaged

from monai_roigan.apps import SyntheticBalancedDataset
from monai_roigan.data import mias_datalist
from monai_roigan.networks import PRESETS, ROIGenerator
from monai_roigan.transforms import ExtractROId, LoadMammogramd, SyntheticROIAugment, SyntheticROIAugmentd

WINDOWS_FORBIDDEN = set('<>:"\\|?*')


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("gen") / "model.pt"
    torch.save(ROIGenerator(num_classes=4, width=PRESETS["tiny"]).state_dict(), path)
    return path


@pytest.fixture(scope="module")
def lesions(phantom_dir) -> list[dict]:
    return [e for e in mias_datalist(phantom_dir) if e["center"] is not None]


def loaded_rois(datalist, cached: bool):
    transform = Compose([LoadMammogramd("image"), ExtractROId("image")])
    return CacheDataset(datalist, transform, progress=False) if cached else Dataset(datalist, transform)


@pytest.mark.parametrize("cached", [False, True], ids=["Dataset", "CacheDataset"])
def test_balanced_dataset_of_loaded_rois(lesions, weights, cached):
    """Bug 1: the README's ``SyntheticBalancedDataset(rois, ...)`` over a Dataset of transforms read the raw paths."""
    rois = loaded_rois(lesions, cached)
    balanced = SyntheticBalancedDataset(rois, str(weights))
    counts = balanced.class_counts()
    assert len(set(counts.values())) == 1 and len(balanced) == sum(counts.values()) > len(rois)
    real, synthetic = balanced[0], balanced[len(balanced) - 1]
    assert real["image"].shape == synthetic["image"].shape == (1, 64, 64)
    assert real["image"].meta["synthetic"] is False and synthetic["image"].meta["synthetic"] is True


@pytest.mark.parametrize("shape", [(4, 1, 64, 64), (1, 64, 64, 8), (64, 64)])
def test_augment_refuses_batches_and_volumes(weights, shape):
    """Bug 5: a batch came back as copies of one ROI with one label, a volume ran; both must raise."""
    augment = SyntheticROIAugment(str(weights), prob=1.0)
    with pytest.raises(ValueError, match=r"one ROI of shape \(C, H, W\).*" + r"\(" + ", ".join(map(str, shape))):
        augment(torch.zeros(shape), 3)
    augment_d = SyntheticROIAugmentd("image", str(weights), prob=0.0)
    with pytest.raises(ValueError, match=r"one ROI of shape \(C, H, W\)"):
        augment_d({"image": torch.zeros(shape), "label": 3})


def test_roi_affine_carries_the_roi_spacing(lesions, tmp_path):
    """Bug 6: ROIs said ``roi_spacing`` 0.4 mm but carried an identity affine, so NIfTI files said 1 mm."""
    entry = LoadMammogramd("image")(lesions[0])
    row, col = entry["center"]
    roi = ExtractROId("image")(entry)["image"]
    assert roi.meta["roi_spacing"] == pytest.approx(0.4)
    assert torch.allclose(roi.pixdim, torch.tensor([0.4, 0.4], dtype=roi.pixdim.dtype))
    # pixel (0, 0) of the ROI is the centre of the top-left 2x2 block of the 128-pixel window (0.2 mm pixels)
    top_left = entry["image"].affine[:2, :2] @ torch.tensor([row - 64 + 0.5, col - 64 + 0.5], dtype=torch.float64)
    assert torch.allclose(roi.affine[:2, 2], top_left + entry["image"].affine[:2, 2])
    SaveImaged("image", output_dir=tmp_path, output_postfix="", separate_folder=False, print_log=False)({"image": roi})
    (saved,) = tmp_path.glob("*.nii.gz")
    assert nib.load(saved).header.get_zooms()[:2] == pytest.approx((0.4, 0.4))


def test_two_rois_of_one_film_are_saved_to_two_files(lesions, tmp_path):
    """Bug 7: ROIs kept the mammogram's ``filename_or_obj``, so the second ROI of a film overwrote the first."""
    entry = lesions[0]
    second = dict(entry, center=[entry["center"][0] + 100, entry["center"][1]])
    save = SaveImaged("image", output_dir=tmp_path, output_postfix="", separate_folder=False, print_log=False)
    names = []
    for item in (entry, second):
        roi = ExtractROId("image")(LoadMammogramd("image")(item))
        save(roi)
        names.append(Path(roi["image"].meta["filename_or_obj"]).name)
        assert roi["image"].meta["source_path"].endswith(Path(entry["image"]).name)
    assert names[0] != names[1] and len(list(tmp_path.glob("*.nii.gz"))) == 2


def test_synthetic_file_names_are_portable(lesions, weights, tmp_path):
    """Bug 8: synthetic ROIs were named ``synthetic:mass:924231285:0``; colons are not allowed on Windows."""
    augment = SyntheticROIAugmentd("image", str(weights), prob=1.0).set_random_state(0)
    roi = ExtractROId("image")(LoadMammogramd("image")(lesions[0]))["image"]
    out = augment({"image": roi, "label": 3})["image"]
    name = out.meta["filename_or_obj"]
    assert name.startswith("synthetic_mass_") and not WINDOWS_FORBIDDEN & set(name), name
    SaveImaged("image", output_dir=tmp_path, output_postfix="", separate_folder=False, print_log=False)({"image": out})
    assert [p.name for p in tmp_path.iterdir()] == [f"{name}.nii.gz"]
    assert np.isfinite(nib.load(tmp_path / f"{name}.nii.gz").get_fdata()).all()
