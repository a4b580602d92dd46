"""The normal counterpart of an ROI: a tissue in-filler, trained by counterpart.json on the phantom's normal tissue
of training women only, predicts the ROI's centre; the residual shows what the tissue does not explain."""

import os

import numpy as np
import pytest
import torch
from monai.bundle import ConfigParser
from monai.data import MetaTensor

import monai_roigan.evaluation  # noqa: F401 - train.json's real_rois item calls it
from monai_roigan.apps import counterpart_datalist, counterpart_women, load_counterpart_women, women_record_path
from monai_roigan.networks import PRESETS, ContextROIGenerator, ROIGenerator
from monai_roigan.networks.nets.context import disc_mask
from monai_roigan.transforms import NormalCounterpart, NormalCounterpartd
from monai_roigan.utils.errors import ConfigurationError
from tests.test_bundle import CONFIGS, bundle, overlay

SETTINGS = {"num_phantom_images": 16, "holdout_fraction": 0.3, "batch_size": 8, "max_epochs": 6}
CONFIG_FILES = ("context.json", "counterpart.json")


def parsed(root, key, **overrides):
    parser = ConfigParser()
    parser.read_config([str(CONFIGS / name) for name in ("train.json", *CONFIG_FILES)])
    for name, value in {"bundle_root": str(root), **SETTINGS, **overrides}.items():
        parser[name] = value
    return parser.get_parsed_content(key)


@pytest.fixture(scope="module")
def infiller(tmp_path_factory):
    """A tissue in-filler trained by counterpart.json on a small phantom (its bundle folder)."""
    root = tmp_path_factory.mktemp("counterpart")
    args = [f"--{name}={value}" for name, value in SETTINGS.items()]
    bundle("run", "training", "--config_file", overlay(*CONFIG_FILES), f"--bundle_root={root}", *args)
    return root


def test_the_tissue_only_in_filler_learns_normal_tissue_of_a_share_of_the_training_women_only(infiller):
    recorded = load_counterpart_women(infiller / "models" / "counterpart.pt")  # as the training left it
    items = parsed(infiller, "train_dataset#data")  # (building the datalist writes the record again)
    num_classes = parsed(infiller, "num_classes")
    assert items and all(int(item["label"]) == num_classes for item in items)  # no lesion ROI
    held_out = parsed(infiller, "real_rois", evaluation_normal_per_image=2)
    unseen = set(held_out.held_out.groups.tolist()) | set(held_out.normal_held_out.groups.tolist())
    assert held_out.normal_held_out.groups.size and unseen
    assert not unseen & {item["group"] for item in items}  # no held-out woman, with lesions or without
    assert (infiller / "models" / "counterpart.pt").is_file()
    # the record names exactly the women it learned from: a share of those with normal tissue, the rest left over
    assert recorded == sorted({str(item["group"]) for item in items})
    normal_women = {str(i["group"]) for i in parsed(infiller, "tissue_datalist") if i["label"] == num_classes}
    assert set(recorded) < normal_women


def tissue_items(women: dict[str, list[int]]) -> list[dict]:
    """``tissue_datalist``-like items (``group``, ``label``) of women with these labels (4: normal tissue)."""
    return [{"group": w, "label": label} for w, labels in women.items() for label in labels]


def test_the_in_fillers_women_are_a_seeded_share_of_the_women_with_normal_tissue(tmp_path):
    items = tissue_items({f"w{k}": [4, 4] if k % 3 else [0, 4] for k in range(10)} | {"lesion_only": [1]})
    women = counterpart_women(items, 4, 0.5, seed=3)
    assert len(women) == 5 and women == sorted(women) and "lesion_only" not in women
    assert women == counterpart_women(items, 4, 0.5, seed=3) and women != counterpart_women(items, 4, 0.5, seed=4)
    assert len(counterpart_women(items, 4, 1.0)) == 10
    model = tmp_path / "models" / "infiller.pt"
    chosen = counterpart_datalist(items, 4, 0.5, seed=3, record_for=model)
    assert chosen == [i for i in items if i["group"] in women and i["label"] == 4]  # every normal item, no lesion
    assert women_record_path(model) == tmp_path / "models" / "infiller.women.json"
    assert load_counterpart_women(model) == women


def test_bad_shares_and_records_are_refused_naming_them(tmp_path):
    items = tissue_items({"a": [4], "b": [0]})
    for fraction in (0.0, 1.5):
        with pytest.raises(ConfigurationError, match=f"counterpart_fraction must be in \\(0, 1\\], got {fraction}"):
            counterpart_women(items, 4, fraction)
    with pytest.raises(
        ConfigurationError,
        match=r"draws no woman for the tissue in-filler from the training women with normal tissue \(1\)",
    ):
        counterpart_women(items, 4, 0.4)  # round(0.4) = 0
    model = tmp_path / "infiller.pt"
    with pytest.raises(ConfigurationError, match=r"infiller\.women\.json: no record of the women"):
        load_counterpart_women(model)
    for text in ("not json", '{"men": []}', '{"women": [1, 2]}'):
        women_record_path(model).write_text(text)
        with pytest.raises(ConfigurationError, match=r"infiller\.women\.json: .*women"):
            load_counterpart_women(model)
    women_record_path(model).write_text('{"women": ["a"]}')
    model.write_bytes(b"weights")
    assert load_counterpart_women(model) == ["a"]
    later = model.stat().st_mtime + 10
    os.utime(women_record_path(model), (later, later))  # a later training rewrote it and did not finish
    with pytest.raises(ConfigurationError, match=r"infiller\.women\.json: written after .*infiller\.pt"):
        load_counterpart_women(model)


def phantom_rois(root):
    items = parsed(root, "tissue_datalist")
    num_classes = parsed(root, "num_classes")
    lesions = torch.stack([torch.as_tensor(i["image"]) for i in items if i["label"] < num_classes]).float()
    normals = torch.stack([torch.as_tensor(i["image"]) for i in items if i["label"] == num_classes]).float()
    return lesions, normals


def test_an_inserted_lesion_leaves_its_energy_inside_its_mask_and_normal_tissue_a_small_residual(infiller):
    lesions, normals = phantom_rois(infiller)
    count = min(len(lesions), len(normals), 24)
    lesion_mask = disc_mask(64, 0.15, 0.04)[0]  # (1, 64, 64): 10 px of radius, a quarter of the in-filled disc
    inserted = normals[:count] * (1 - lesion_mask) + lesions[:count] * lesion_mask
    counterpart = NormalCounterpart(str(infiller / "models" / "counterpart.pt"))
    energy = counterpart.batch(inserted)[:, 1] ** 2
    lesion, rest = lesion_mask[0] > 0.5, (counterpart.mask_region() > 0) & (lesion_mask[0] == 0)
    density = float(energy[:, lesion].mean() / energy[:, rest].mean())
    assert density > 3, f"the residual energy per pixel is only {density:.1f}x as high inside the lesion's mask"
    normal = counterpart.batch(normals[:count])[:, 1] ** 2  # the same tissue without the lesion
    ratio = float(energy[:, lesion].mean() / normal[:, lesion].mean())
    assert ratio > 1.5, f"a lesion leaves only {ratio:.1f}x the residual energy its tissue leaves there"


def test_outputs_channels_and_the_residual_is_zero_where_the_roi_is_kept(infiller):
    path = str(infiller / "models" / "counterpart.pt")
    _, normals = phantom_rois(infiller)
    roi = MetaTensor(normals[0], meta={"filename_or_obj": "normal_0"})
    both = NormalCounterpart(path, output="both")(roi)
    assert both.shape == (3, 64, 64) and both.meta["counterpart_output"] == "both"
    assert both.meta["filename_or_obj"] == "normal_0"
    torch.testing.assert_close(both[0].as_tensor(), roi.as_tensor()[0])
    torch.testing.assert_close(both[2].as_tensor(), (both[0] - both[1]).as_tensor())
    kept = NormalCounterpart(path).mask_region() == 0
    assert float(both[2][kept].abs().max()) == 0.0  # outside the in-filled disc the counterpart is the ROI
    assert float(both[2][~kept].abs().mean()) > 0
    for output, channels in (("residual", [0, 2]), ("counterpart", [0, 1])):
        torch.testing.assert_close(NormalCounterpart(path, output=output)(roi).as_tensor(), both[channels].as_tensor())
    torch.testing.assert_close(NormalCounterpart(path, output="both").batch(normals[:1])[0], both.as_tensor())
    scaled = NormalCounterpart(path, output="both", intensity_range=(0.0, 1.0))((roi + 1) / 2)  # a [0, 1] pipeline
    torch.testing.assert_close(scaled.as_tensor(), torch.stack([(both[0] + 1) / 2, (both[1] + 1) / 2, both[2] / 2]))
    d = NormalCounterpartd("image", path, output="both")({"image": roi, "label": 4})
    assert d["label"] == 4 and torch.equal(d["image"].as_tensor(), both.as_tensor())


def test_the_same_seed_gives_the_same_counterpart(infiller):
    path = str(infiller / "models" / "counterpart.pt")
    _, normals = phantom_rois(infiller)
    zero = NormalCounterpart(path).batch(normals[:4])
    assert torch.equal(zero, NormalCounterpart(path).batch(normals[:4]))
    mean = NormalCounterpart(path, num_draws=3, seed=7).batch(normals[:4])
    assert torch.equal(mean, NormalCounterpart(path, num_draws=3, seed=7).batch(normals[:4]))
    assert not torch.equal(mean, zero)
    assert not torch.equal(mean, NormalCounterpart(path, num_draws=3, seed=8).batch(normals[:4]))


def test_wrong_rois_generators_and_masks_are_named():
    infill = ContextROIGenerator(num_classes=4, width=PRESETS["tiny"]).eval()
    with pytest.raises(ValueError, match=r"ROI of shape \(1, 32, 32\).*\(1, 64, 64\)"):
        NormalCounterpart(infill)(torch.zeros(1, 32, 32))
    with pytest.raises(ValueError, match=r"ROI of shape \(3, 64, 64\)"):
        NormalCounterpart(infill)(torch.zeros(3, 64, 64))
    with pytest.raises(ValueError, match="context"):
        NormalCounterpart(ROIGenerator(num_classes=4, width=PRESETS["tiny"]))
    with pytest.raises(ValueError, match="mask: the mask covers every pixel"):
        NormalCounterpart(infill, mask=torch.ones(1, 64, 64))
    with pytest.raises(ValueError, match=r"mask: expected shape \(1, 64, 64\)"):
        NormalCounterpart(infill, mask=torch.zeros(1, 80, 80))
    with pytest.raises(ValueError, match="output must be one of"):
        NormalCounterpart(infill, output="image")
    with pytest.raises(ValueError, match="intensity_range"):
        NormalCounterpart(infill, intensity_range=(1.0, 0.0))
    with pytest.raises(ValueError, match="one .* mask for every ROI"):
        NormalCounterpart(infill, mask=torch.zeros(2, 1, 64, 64).index_fill_(2, torch.tensor([30]), 1.0))
    with pytest.raises(ValueError, match="num_draws"):
        NormalCounterpart(infill, num_draws=-1)
    custom = torch.zeros(1, 64, 64)
    custom[:, 24:40, 24:40] = 1
    out = NormalCounterpart(infill, mask=custom)(torch.rand(1, 64, 64) * 2 - 1)
    assert float(out[1][custom[0] == 0].abs().max()) == 0.0 and float(out[1][custom[0] == 1].abs().max()) > 0
    assert np.isfinite(out.numpy()).all()


def test_the_classifier_takes_extra_channels():
    """The class is only in the second channel (as a residual would carry it): a 2-channel classifier learns it."""
    from monai_roigan.engines import roi_items, train_roi_classifier
    from monai_roigan.networks.nets import ROIClassifier

    g = torch.Generator().manual_seed(0)
    labels = torch.arange(40) % 2
    images = torch.rand(40, 2, 32, 32, generator=g) * 2 - 1
    images[:, 1] = 0.1 * torch.randn(40, 32, 32, generator=g) + (labels.view(-1, 1, 1) * 1.2 - 0.6)
    net = train_roi_classifier(roi_items(images, labels), 2, epochs=10, seed=0, input_size=32, in_channels=2)
    with torch.no_grad():
        assert torch.equal(net(images).argmax(1), labels)
    with pytest.raises(ValueError, match=r"takes images of 1 channel\(s\) \(in_channels\).*shape \(2, 32, 32\)"):
        train_roi_classifier(roi_items(images, labels), 2, steps=1, seed=0, input_size=32)  # the default: 1 channel
    for bad in ({"in_channels": 0}, {"input_size": 40}):
        with pytest.raises(ValueError, match=f"{next(iter(bad))} must be"):
            ROIClassifier(2, **{"input_size": 32, **bad})
