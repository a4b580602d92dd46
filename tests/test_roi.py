import numpy as np
import pytest
import torch
from monai.data import MetaTensor

from monai_roigan.data.mias import mias_datalist
from monai_roigan.transforms import ExtractROI, ExtractROId, LoadMammogram, MaskToCenter, MaskToCenterd, crop_centered
from monai_roigan.transforms.breast import BreastMask, sample_normal_centers


def ramp_image(h=300, w=200):
    rows = torch.arange(h, dtype=torch.float32)[:, None].expand(h, w)
    cols = torch.arange(w, dtype=torch.float32)[None, :].expand(h, w)
    return MetaTensor(
        ((rows * 1000 + cols) / (h * 1000 + w))[None], meta={"source_path": "ramp.png", "spacing": (0.1, 0.1)}
    )


def test_crop_is_padded_not_shifted_at_borders():
    img = ramp_image()
    roi = crop_centered(img.as_tensor(), (5, 190), 32, pad_value=-7.0)
    assert roi.shape == (1, 32, 32)
    assert roi[0, 16, 16] == img[0, 5, 190]  # the centre stays at index size // 2
    assert torch.all(roi[0, :11] == -7.0) and torch.all(roi[0, :, 26:] == -7.0)  # outside the image: padding
    assert torch.all(roi[0, 11:, :26] >= 0)


def test_extract_roi_shape_range_and_meta():
    img = ramp_image()
    roi = ExtractROI(roi_size=128, output_size=64, median_radius=None)(img, (150, 100))
    assert isinstance(roi, MetaTensor) and tuple(roi.shape) == (1, 64, 64) and roi.dtype == torch.float32
    assert -1.0 <= float(roi.min()) and float(roi.max()) <= 1.0
    # linear map [0, 1] -> [-1, 1] of the area-averaged window, not a per-ROI stretch
    expected = img[0, 86:214, 36:164].reshape(64, 2, 64, 2).mean((1, 3)) * 2 - 1
    torch.testing.assert_close(roi[0].as_tensor(), expected, atol=1e-5, rtol=0)
    assert roi.meta["roi_center"] == (150, 100) and roi.meta["roi_window"] == 128
    assert roi.meta["roi_spacing"] == pytest.approx(0.2)  # 0.1 mm * 128 / 64
    assert roi.meta["source_path"] == "ramp.png"


def test_adaptive_window_and_output_range():
    img = ramp_image()
    extract = ExtractROI(roi_size=64, output_size=32, adaptive=True, margin=1.5, output_range=(0.0, 1.0))
    roi = extract(img, (150, 100), radius=40)
    assert roi.meta["roi_window"] == 120 and tuple(roi.shape) == (1, 32, 32) and float(roi.min()) >= 0
    assert extract(img, (150, 100), radius=10).meta["roi_window"] == 64


def test_median_denoising_removes_salt_noise():
    img = torch.full((1, 128, 128), 0.5)
    img[0, ::7, ::5] = 1.0
    noisy = ExtractROI(median_radius=None)(img, (64, 64))
    clean = ExtractROI(median_radius=1)(img, (64, 64))
    assert float(noisy.std()) > 0.05 and float(clean.std()) < 1e-4


@pytest.mark.parametrize("center", [(300, 10), (-1, 10), (10, 200), None])
def test_centre_outside_image_names_file(center):
    with pytest.raises(ValueError, match="ramp.png"):
        ExtractROI()(ramp_image(), center)


def test_extract_roid_keeps_provenance():
    d = {"image": ramp_image(), "center": [150, 100], "radius": 12, "class_name": "mass", "label": 3, "refnum": "x1"}
    out = ExtractROId("image", median_radius=None)(d)
    assert out["image"].meta["class_name"] == "mass" and out["image"].meta["label"] == 3
    assert out["image"].meta["refnum"] == "x1" and out["label"] == 3


def test_mask_to_center_and_scaling(dicom_factory):
    mask = np.zeros((100, 60), dtype=np.uint8)
    mask[20:41, 10:21] = 1
    center, radius = MaskToCenter()(mask)
    assert center == (30, 15) and radius == 11
    center, radius = MaskToCenter()(mask, image_shape=(1, 200, 120))  # mask at half resolution
    assert center == (60, 30) and radius == 21
    path = dicom_factory((mask * 255).astype(np.uint8))
    d = MaskToCenterd("mask")({"image": None, "mask": str(path), "center": None})
    assert d["center"] == [30, 15] and d["radius"] == 11
    with pytest.raises(ValueError, match="empty"):
        MaskToCenter()(np.zeros((4, 4)))
    with pytest.raises(ValueError, match="not binary"):
        MaskToCenter()(np.arange(16).reshape(4, 4))


def _disk_contrast(roi: np.ndarray, radius_px: float) -> float:
    """Mean of a central disk minus the mean of a ring around the lesion, in a (64, 64) ROI."""
    yy, xx = np.mgrid[:64, :64]
    r = np.hypot(yy - 32, xx - 32)
    inner = roi[r <= max(2.0, min(radius_px / 2, 16))].mean()
    ring = roi[(r >= min(radius_px * 1.5, 24)) & (r <= min(radius_px * 2, 31))] if radius_px < 15 else roi[r >= 26]
    return float(inner - ring.mean())


def test_rois_cut_from_real_mias_sit_on_the_masses(mias_dir):
    """Seen by eye on a per-class grid first; encoded: every MIAS mass is brighter at the ROI centre than at its rim,
    while windows placed with the bottom-left origin left unconverted (row = y) mostly are not."""
    with pytest.warns(UserWarning):
        masses = [e for e in mias_datalist(mias_dir) if e["class_name"] == "mass" and e["center"]]
    load, extract = LoadMammogram(), ExtractROI(median_radius=None)
    right, wrong = [], []
    for e in masses:
        image = load(e["image"])
        radius_px = e["radius"] * 64 / 128
        right.append(_disk_contrast(extract(image, e["center"])[0].numpy(), radius_px))
        wrong.append(_disk_contrast(extract(image, (1024 - e["center"][0], e["center"][1]))[0].numpy(), radius_px))
    assert len(masses) == 34
    assert min(right) > 0.03 and np.mean(right) > 0.2
    assert sum(w > 0.03 for w in wrong) < 0.7 * len(wrong)


def test_normal_centres_stay_inside_the_breast(mias_dir):
    image = LoadMammogram()(mias_dir / "mdb003.pgm" if (mias_dir / "mdb003.pgm").exists() else mias_dir / "mdb007.pgm")
    mask = BreastMask()(image)
    assert mask.dtype == torch.bool and tuple(mask.shape) == (1, 1024, 1024)
    assert 0.1 < float(mask.float().mean()) < 0.7
    centers = sample_normal_centers(image[0].numpy(), 20, 128, np.random.default_rng(0))
    assert len(centers) == 20 and len(set(centers)) == 20
    for row, col in centers:
        window = mask[0, row - 64 : row + 64, col - 64 : col + 64]
        assert window.shape == (128, 128) and bool(window.all())
    again = sample_normal_centers(image[0].numpy(), 20, 128, np.random.default_rng(0))
    assert centers == again
