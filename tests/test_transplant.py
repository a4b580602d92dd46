"""TransplantLesion(d): a real lesion's residual added into normal tissue, with no training."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from monai_roigan.transforms import TransplantLesion, TransplantLesiond, lesion_residual

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
