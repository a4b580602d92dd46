"""CopyPasteLesion(d): real lesions pasted into real tissue through a soft mask, the baseline generators must beat."""

import numpy as np
import pytest
import torch
from monai.data import MetaTensor, list_data_collate

from monai_roigan.data import ALL_CLASSES
from monai_roigan.transforms import CopyPasteLesion, CopyPasteLesiond, blend_mask

S = 64


def tissue(seed=0, level=-0.4):
    g = torch.Generator().manual_seed(seed)
    return (level + 0.1 * torch.randn(1, S, S, generator=g)).clamp(-1, 1)


def lesion(level=0.6, background=-0.4):
    """A bright disk of radius 10 px on a flat background."""
    yy, xx = np.mgrid[:S, :S]
    disk = np.hypot(yy - (S - 1) / 2, xx - (S - 1) / 2) < 10
    return torch.from_numpy(np.where(disk, level, background)[None].astype(np.float32))


def test_blend_mask_is_flat_inside_zero_outside_and_falls_between():
    mask = blend_mask(S, 0.35, 0.6)
    centre, r = (S - 1) / 2, np.hypot(*(np.mgrid[:S, :S] - (S - 1) / 2)) / (S / 2)
    assert torch.all(mask[torch.from_numpy(r <= 0.35)] == 1) and torch.all(mask[torch.from_numpy(r >= 0.6)] == 0)
    ring = mask[torch.from_numpy((r > 0.36) & (r < 0.59))]
    assert torch.all((ring > 0) & (ring < 1)) and float(mask[int(centre), int(centre)]) == 1
    with pytest.raises(ValueError, match="inner < outer"):
        blend_mask(S, 0.6, 0.5)


def test_tissue_is_kept_outside_the_mask_and_the_lesion_inside_it():
    """With no jitter and the same background level, the core is the lesion and the outside the tissue, exactly."""
    base = torch.full((1, S, S), -0.4)
    base += 0.05 * torch.sin(torch.arange(S, dtype=torch.float32))  # texture, ring mean still -0.4 on average
    paste = CopyPasteLesion([lesion()], flip=False, rotate=False, scale_range=(1, 1), contrast_range=(1, 1))
    out = paste(base)
    mask = paste.mask
    assert torch.equal(out[:, mask == 0], base[:, mask == 0])
    level_shift = base[:, paste.ring].mean() - lesion()[:, paste.ring].mean()
    torch.testing.assert_close(out[:, mask == 1], lesion()[:, mask == 1] + level_shift, rtol=0, atol=1e-6)
    assert out.meta["pasted"] is True and out.meta["pasted_lesion"] == "lesion-0"


def test_jittered_pastes_keep_the_tissue_outside_and_are_seeded():
    lesions = [lesion(0.6), lesion(0.9)]
    paste = CopyPasteLesion(lesions, lesion_ids=["mass-7", "mass-9"]).set_random_state(3)
    first = [paste(tissue(k)) for k in range(6)]
    for k, out in enumerate(first):
        assert torch.equal(out[:, paste.mask == 0], tissue(k)[:, paste.mask == 0])
        assert out.meta["pasted_lesion"] in ("mass-7", "mass-9")
    again = CopyPasteLesion(lesions, lesion_ids=["mass-7", "mass-9"]).set_random_state(3)
    assert all(torch.equal(a, again(tissue(k))) for k, a in enumerate(first))  # same seed, same ROIs
    other = CopyPasteLesion(lesions).set_random_state(4)
    assert not all(torch.equal(a, other(tissue(k))) for k, a in enumerate(first))
    assert len({round(float(o[:, paste.mask == 1].mean()), 4) for o in first}) > 1  # contrast and lesions vary


def test_dictionary_version_turns_normals_into_lesions_and_rewrites_labels():
    names = list(ALL_CLASSES)  # abnormality classes, then normal
    bank = [
        {"image": lesion(0.7), "label": "architectural_distortion", "id": "ad-roi-3"},
        {"image": lesion(0.5), "label": names.index("asymmetry")},
    ]
    t = CopyPasteLesiond("image", bank, prob=1.0, class_names=names, target_distribution={"asymmetry": 1.0})
    t.set_random_state(0)
    normal = {"image": MetaTensor(tissue(), meta={"filename_or_obj": "mdb003.pgm"}), "label": names.index("normal")}
    out = t(normal)
    assert out["label"] == names.index("asymmetry") and out["image"].meta["pasted_class"] == "asymmetry"
    assert out["image"].meta["pasted_lesion"] == "asymmetry-1"  # an ROI id, never a patient path
    mass = {"image": tissue(1), "label": names.index("mass")}
    kept = t(mass)  # not a source class: unchanged, marked
    assert torch.equal(kept["image"], tissue(1)) and kept["image"].meta["pasted"] is False and kept["label"] == 3
    onehot = t({"image": tissue(2), "label": np.eye(5, dtype=np.float32)[4]})
    assert onehot["label"].argmax() == names.index("asymmetry") and onehot["label"].shape == (5,)
    named = CopyPasteLesiond("image", bank, prob=1.0, class_names=names)(dict(image=tissue(), label="normal"))
    assert named["label"] in ("architectural_distortion", "asymmetry")
    batch = list_data_collate([out, kept])
    assert batch["image"].shape == (2, 1, S, S) and list(batch["image"].meta["pasted"]) == [True, False]


def test_intensity_match_moves_the_lesion_level_part_way_to_the_tissue():
    base = torch.full((1, S, S), -0.4)
    bright = lesion(level=0.6, background=0.2)  # its surroundings 0.6 above the tissue
    fixed = {"flip": False, "rotate": False, "scale_range": (1, 1), "contrast_range": (1, 1)}
    for match, shift in ((1.0, -0.6), (0.5, -0.3), (0.0, 0.0)):
        paste = CopyPasteLesion([bright], intensity_match=match, **fixed)
        out = paste(base)
        core = paste.mask == 1
        torch.testing.assert_close(out[:, core], bright[:, core] + shift, rtol=0, atol=1e-6)


def test_radius_range_draws_the_disc_size_per_paste_and_keeps_the_tissue_outside():
    paste = CopyPasteLesion([lesion()], radius_range=(0.6, 1.5)).set_random_state(0)
    sizes = set()
    for k in range(8):
        out = paste(tissue(k))
        sizes.add(int((paste.mask > 0).sum()))
        assert torch.equal(out[:, paste.mask == 0], tissue(k)[:, paste.mask == 0])
        assert float(paste.mask.max()) == 1.0
    assert len(sizes) >= 4  # the disc's size varies between pastes
    assert int((blend_mask(S, 0.35, 0.6) > 0).sum()) == int((CopyPasteLesion([lesion()]).mask > 0).sum())
    again = CopyPasteLesion([lesion()], radius_range=[0.6, 1.5]).set_random_state(0)  # a JSON list works too
    paste.set_random_state(0)
    assert all(torch.equal(paste(tissue(k)), again(tissue(k))) for k in range(3))


def test_clear_errors():
    with pytest.raises(ValueError, match="at least one lesion"):
        CopyPasteLesion([])
    with pytest.raises(ValueError, match="one shape"):
        CopyPasteLesion([lesion(), torch.zeros(1, 32, 32)])
    with pytest.raises(ValueError, match="radius_range must be"):
        CopyPasteLesion([lesion()], radius_range=(1.2, 0.8))
    with pytest.raises(ValueError, match=r"intensity_match must be in \[0, 1\], got 1.5"):
        CopyPasteLesion([lesion()], intensity_match=1.5)
    with pytest.raises(ValueError, match="tissue ROI of shape"):
        CopyPasteLesion([lesion()])(torch.zeros(1, 32, 32))
    bank = [{"image": lesion(), "label": "mass"}]
    with pytest.raises(ValueError, match="without lesions in the bank"):
        CopyPasteLesiond("image", bank, target_distribution={"asymmetry": 1.0})
    with pytest.raises(ValueError, match="source_classes"):
        CopyPasteLesiond("image", bank, source_classes=("cyst",))
