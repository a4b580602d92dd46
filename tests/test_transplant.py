"""TransplantLesion(d): a real lesion's residual added into normal tissue, with no training."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from monai_roigan.transforms import TransplantLesion, TransplantLesiond, blend_mask, lesion_residual

SIZE = 32
YY, XX = np.indices((SIZE, SIZE)) - (SIZE - 1) / 2
BLOB = 0.6 * np.exp(-(YY**2 + XX**2) / (2 * 3.0**2))  # the lesion: a bright blob at the centre
DISC = np.hypot(YY, XX) < 0.6 * SIZE / 2  # the default mask of TransplantLesion (outer 0.6)


def _lesion_roi(slope: float = 0.02) -> np.ndarray:
    """(1, S, S): a linear background (which biharmonic in-painting restores exactly) plus the blob."""
    return (slope * (YY + 2 * XX) - 0.3 + BLOB)[None].astype(np.float32)


def _tissue(seed: int = 0) -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(seed).uniform(-0.5, 0.0, (1, SIZE, SIZE)).astype(np.float32))


PLAIN = {"flip": False, "rotate": False, "scale_range": (1, 1), "gain_range": (1, 1), "warp_magnitude": (0, 0)}


def test_the_residual_is_the_lesion_without_its_background():
    residual = lesion_residual(_lesion_roi(), DISC, feather=0).numpy()[0]
    assert np.all(residual[~DISC] == 0)
    np.testing.assert_allclose(residual[DISC], BLOB[DISC], atol=0.02)  # the linear background is gone (the blob's
    # tail at the mask edge, 0.006, is read as background)
    tapered = lesion_residual(_lesion_roi(), DISC, feather=3).numpy()[0]
    edge = DISC & (np.hypot(YY, XX) > 0.6 * SIZE / 2 - 1)
    assert np.abs(tapered[edge]).max() < 0.5 * np.abs(residual[edge]).max() + 1e-6  # faded in at the rim


def test_a_plain_transplant_adds_exactly_the_residual_and_leaves_the_surround():
    transplant = TransplantLesion([_lesion_roi()], **PLAIN)
    tissue = _tissue()
    result = transplant(tissue)
    out = result.as_tensor()
    expected = (tissue + lesion_residual(_lesion_roi(), DISC)).clamp(-1, 1)
    torch.testing.assert_close(out, expected)
    assert torch.equal(out[0][torch.from_numpy(~DISC)], tissue[0][torch.from_numpy(~DISC)])
    assert result.meta["pasted"] is True and result.meta["pasted_lesion"] == "lesion-0"


def test_the_lesion_sits_on_the_target_level_with_no_step_at_the_mask_edge():
    """The transplant keeps the target's level: just inside and just outside the mask's edge, the output differs
    from the tissue by less than a tenth of the lesion's peak (copy-paste of the raw pixels would step by the
    background difference, 0.3 here)."""
    dark = _lesion_roi() - 0.3
    out = TransplantLesion([dark], **PLAIN)(_tissue()).as_tensor()[0].numpy()
    added = out - _tissue().numpy()[0]
    ring = DISC & (np.hypot(YY, XX) > 0.6 * SIZE / 2 - 1.5)
    assert np.abs(added[ring]).max() < 0.06 and added.max() == pytest.approx(BLOB.max(), abs=0.03)


def test_the_same_seed_gives_the_same_transplants():
    def draw(seed: int) -> list[torch.Tensor]:
        transplant = TransplantLesion([_lesion_roi(), _lesion_roi(0.01)], prob=1.0).set_random_state(seed)
        return [transplant(_tissue(k)).as_tensor() for k in range(4)]

    transplant = TransplantLesion([_lesion_roi()]).set_random_state(0)
    assert transplant(_tissue(0)).meta["pasted_blend"] == "additive"
    first, again, other = draw(3), draw(3), draw(4)
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    assert not all(torch.equal(a, b) for a, b in zip(first, other))


def test_the_gain_and_warp_vary_the_lesion():
    transplant = TransplantLesion([_lesion_roi()], flip=False, rotate=False, scale_range=(1, 1)).set_random_state(0)
    added = [(transplant(_tissue()).as_tensor() - _tissue()).max().item() for _ in range(20)]
    assert 0.6 * 0.55 < min(added) < max(added) < 1.2 * 0.65 and max(added) - min(added) > 0.1


def test_bad_masks_and_shapes_are_named():
    with pytest.raises(ValueError, match=r"lesion-0: the lesion mask covers the whole \(32, 32\) ROI"):
        TransplantLesion([_lesion_roi()], masks=[np.ones((SIZE, SIZE))])
    with pytest.raises(ValueError, match="is empty"):
        TransplantLesion([_lesion_roi()], masks=[np.zeros((SIZE, SIZE))])
    with pytest.raises(ValueError, match=r"mask of shape \(16, 16\) for an ROI of shape \(1, 32, 32\)"):
        lesion_residual(_lesion_roi(), np.ones((16, 16)), where="lesion-0")
    with pytest.raises(ValueError, match="2 masks for 1 lesions"):
        TransplantLesion([_lesion_roi()], masks=[DISC, DISC])
    bank = [{"image": _lesion_roi(), "label": "asymmetry"}]
    transform = TransplantLesiond("image", bank, prob=1.0)
    with pytest.raises(ValueError, match=r"key 'image': tissue ROI of shape \(1, 16, 16\), the lesions are \(1, 32"):
        transform({"image": torch.zeros(1, 16, 16), "label": "normal"})
    with pytest.raises(ValueError, match="1 of 2 lesions have a mask"):
        TransplantLesiond("image", [*bank, {**bank[0], "mask": DISC}])


def test_the_dictionary_twin_turns_normal_rois_into_lesion_rois_and_leaves_the_others():
    bank = [{"image": _lesion_roi(), "label": "asymmetry", "mask": DISC}]
    transform = TransplantLesiond("image", bank, prob=1.0).set_random_state(0)
    normal = transform({"image": _tissue(), "label": "normal"})
    assert normal["label"] == "asymmetry" and normal["image"].meta["pasted_class"] == "asymmetry"
    assert not torch.equal(normal["image"].as_tensor(), _tissue())
    mass = transform({"image": _tissue(), "label": "mass"})
    assert mass["label"] == "mass" and mass["image"].meta["pasted"] is False
    assert torch.equal(mass["image"].as_tensor(), _tissue())


def test_lesion_residual_transforms_turn_lesion_rois_into_residuals_with_their_meta():
    from monai.data import MetaTensor

    from monai_roigan.transforms import LesionResidual, LesionResiduald

    roi = MetaTensor(torch.from_numpy(_lesion_roi()), meta={"class_name": "mass"})
    residual = LesionResidual(feather=2.0)(roi)
    assert isinstance(residual, MetaTensor) and residual.meta["class_name"] == "mass"
    torch.testing.assert_close(residual.as_tensor(), lesion_residual(_lesion_roi(), DISC, 2.0))
    item = LesionResiduald("image", feather=2.0)({"image": roi, "label": 3})
    assert item["label"] == 3 and torch.equal(item["image"].as_tensor(), residual.as_tensor())
    masked = LesionResiduald("image", mask_key="mask")({"image": _lesion_roi(), "mask": DISC})
    assert np.all(masked["image"].numpy()[0][~DISC] == 0)
    with pytest.raises(ValueError, match="key 'image'.*mask of shape"):
        LesionResiduald("image", mask_key="mask")({"image": _lesion_roi(), "mask": DISC[:8]})


def test_given_residuals_get_the_taper_of_real_ones_and_are_divided_by_their_scale():
    from monai_roigan.transforms import LesionResidual
    from monai_roigan.transforms.transplant.array import residual_taper

    residual = lesion_residual(_lesion_roi(), DISC).numpy()
    given = TransplantLesion([residual], residual_input=True, **PLAIN)
    tissue = _tissue()
    taper = torch.from_numpy(residual_taper(DISC, (1, SIZE, SIZE), 3.0)).float()
    torch.testing.assert_close(given(tissue).as_tensor(), (tissue + torch.from_numpy(residual) * taper).clamp(-1, 1))
    scaled = LesionResidual(scale=4.0)(_lesion_roi())  # as a residual generator is trained on
    torch.testing.assert_close(scaled, 4.0 * lesion_residual(_lesion_roi(), DISC))
    back = TransplantLesion([scaled.numpy()], residual_input=True, residual_scale=4.0, **PLAIN)(tissue).as_tensor()
    torch.testing.assert_close(back, given(tissue).as_tensor(), rtol=0, atol=1e-6)
    noise = np.full((1, SIZE, SIZE), 0.2, np.float32)  # a residual generator's output: not zero outside the lesion
    out = TransplantLesion([noise], residual_input=True, **PLAIN)(tissue).as_tensor()
    assert torch.equal(out[0][~torch.from_numpy(DISC)], tissue[0][~torch.from_numpy(DISC)]), "confined to the disc"
    as_255 = TransplantLesion([noise], residual_input=True, masks=[DISC.astype(np.uint8) * 255], **PLAIN)
    torch.testing.assert_close(as_255(tissue).as_tensor(), out), "a 0/255 mask is a mask, not a weight"
    with pytest.raises(ValueError, match="scale must be positive"):
        LesionResidual(scale=0.0)
    with pytest.raises(ValueError, match="residual_scale must be positive"):
        TransplantLesion([noise], residual_input=True, residual_scale=0.0)
    with pytest.raises(ValueError, match=r"lesion-0: the lesion mask \(32, 32\) is empty"):
        TransplantLesion([noise], residual_input=True, masks=[np.zeros((SIZE, SIZE))])
    with pytest.raises(ValueError, match="lesion-0: mask of shape"):
        TransplantLesion([noise], residual_input=True, masks=[DISC[:16]])


def test_residual_json_trains_a_generator_of_residuals_and_the_arm_transplants_them(tmp_path):
    """bundle/configs/residual.json: the training items (and the quality score's) are the lesions' residuals, zero
    outside the disc; the exported generator goes to models/residual.pt; the synthetic_transplant arm adds its
    residuals into normal ROIs."""
    from monai.bundle import ConfigParser

    from monai_roigan.evaluation.arms import ArmData, arm_dataset
    from monai_roigan.evaluation.data import ROISet
    from monai_roigan.networks import GeneratorSource, load_generator
    from tests.conftest import REPO
    from tests.test_bundle import bundle, overlay

    configs = [str(REPO / "bundle" / "configs" / n) for n in ("train.json", "residual.json")]
    small = {"bundle_root": str(tmp_path), "num_phantom_images": 16, "max_epochs": 1, "batch_size": 8}
    parser = ConfigParser()
    parser.read_config(configs)
    parser.update({**small, "width": 0.0625, "d_width": 0.0625})
    items = parser.get_parsed_content("residual_datalist")
    outside = blend_mask(64, 0.3, 0.6) == 0
    assert items and all(float(item["image"][0][outside].abs().max()) == 0 for item in items)
    rois = parser.get_parsed_content("roi_datalist")
    scale = parser.get_parsed_content("residual_scale")
    assert scale == 4.0 and torch.allclose(
        torch.as_tensor(items[0]["image"]), scale * lesion_residual(rois[0]["image"], ~outside.numpy()), atol=1e-5
    )
    assert parser.get_parsed_content("quality_score#datalist") is parser.get_parsed_content("residual_datalist")
    settings = [f"--{k}={v}" for k, v in {**small, "width": 0.0625, "d_width": 0.0625}.items()]
    bundle("run", "training", "--config_file", overlay("residual.json"), *settings)
    generator = load_generator(tmp_path / "models" / "residual.pt")
    assert not (tmp_path / "models" / "model.pt").exists()

    rng = np.random.default_rng(0)
    lesions = ROISet(rng.uniform(-1, 1, (5, 1, 64, 64)).astype(np.float32), np.array([0, 1, 3, 3, 3]), np.arange(5))
    normals = ROISet(np.zeros((4, 1, 64, 64), np.float32), np.full(4, 4), np.arange(4).astype(str))
    names = ["architectural_distortion", "asymmetry", "calcification", "mass"]
    data = ArmData(lesions, normals, GeneratorSource(generator, 4), names, with_normal=False)
    dataset = arm_dataset("synthetic_transplant", data)
    added = [dataset[k] for k in range(len(lesions), len(dataset))]
    for scale in (4.0, 8.0):  # the arm divides by the run's residual_scale (one classic-augmentation draw apart)
        weaker = ArmData(
            lesions, normals, GeneratorSource(generator, 4), names, with_normal=False, residual_scale=scale
        )
        bank = arm_dataset("synthetic_transplant", weaker).datasets[1].transform.transforms[0].paster
        reference = arm_dataset("synthetic_transplant", data).datasets[1].transform.transforms[0].paster
        assert torch.allclose(bank.residuals[0] * scale, reference.residuals[0], atol=1e-6)
    assert len(added) == 2 * 2 and sorted(int(a["label"]) for a in added) == [0, 0, 1, 1]
    assert all(a["image"].meta["pasted_blend"] == "additive" for a in added)
    assert all("synthetic" in a["image"].meta["pasted_lesion"] for a in added)
