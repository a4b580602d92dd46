"""``monai_roigan.generate``: one call from a bundle folder, a model.pt, a checkpoint or a module to a MetaTensor
batch with per-image meta, the same images as the files ``generate_rois`` writes."""

import json

import nibabel as nib
import numpy as np
import pytest
import torch
from monai.data import MetaTensor, decollate_batch

import monai_roigan
from monai_roigan.apps import generate_rois
from monai_roigan.networks import PRESETS, ROIGenerator, load_generator


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    """A bundle folder holding an (untrained) tiny generator and its metadata, and a training checkpoint."""
    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("bundle")
    (root / "models").mkdir()
    (root / "configs").mkdir()
    network = ROIGenerator(num_classes=4, width=PRESETS["tiny"])
    torch.save(network.state_dict(), root / "models" / "model.pt")
    (root / "configs" / "metadata.json").write_text(json.dumps({"version": "9.9.9"}))
    ema = {f"module.{k}": v for k, v in network.state_dict().items()} | {"n_averaged": torch.tensor(3)}
    torch.save(
        {"generator": {k: torch.zeros_like(v) for k, v in network.state_dict().items()}, "ema": ema},
        root / "checkpoint_7.pt",
    )
    return root


def test_one_call_gives_a_batch_with_per_image_meta(bundle):
    batch = monai_roigan.generate(str(bundle), "mass", 5, seed=0)
    assert isinstance(batch, MetaTensor) and batch.shape == (5, 1, 64, 64) and batch.dtype == torch.float32
    assert float(batch.min()) >= -1.0 and float(batch.max()) <= 1.0 and float(batch.std()) > 0
    items = decollate_batch(batch)
    assert len(items) == 5 and not torch.equal(items[0], items[1])
    for k, item in enumerate(items):
        assert item.meta["class_name"] == item.meta["synthetic_class"] == "mass" and item.meta["label"] == 3
        assert item.meta["synthetic"] is True and item.meta["synthetic_seed"] == 0 and item.meta["synthetic_index"] == k
        assert item.meta["filename_or_obj"] == f"synthetic_mass_0_{k}"
        assert "bundle 9.9.9 sha256:" in item.meta["synthetic_generator"]
        assert torch.allclose(item.pixdim, torch.tensor([0.4, 0.4], dtype=item.pixdim.dtype))


def test_every_kind_of_source_and_class_gives_the_same_images(bundle):
    reference = monai_roigan.generate(str(bundle), "mass", 3, seed=4)
    assert torch.equal(monai_roigan.generate(bundle / "models" / "model.pt", 3, 3, seed=4), reference)
    assert torch.equal(monai_roigan.generate(bundle / "checkpoint_7.pt", "mass", 3, seed=4), reference)
    module = load_generator(bundle / "models" / "model.pt")
    assert torch.allclose(monai_roigan.generate(module, "mass", 3, seed=4), reference, atol=1e-5)
    assert torch.allclose(monai_roigan.generate(str(bundle), "mass", 3, seed=4, batch_size=2), reference, atol=1e-6)
    assert not torch.equal(monai_roigan.generate(str(bundle), "mass", 3, seed=5), reference)
    assert not torch.equal(monai_roigan.generate(str(bundle), "calcification", 3, seed=4), reference)


def test_matches_the_files_generate_rois_writes(bundle, tmp_path):
    batch = monai_roigan.generate(str(bundle), "asymmetry", 2, seed=1, truncation=0.8)
    generate_rois(
        load_generator(bundle / "models" / "model.pt"),
        ["architectural_distortion", "asymmetry", "calcification", "mass"],
        2,
        tmp_path,
        seed=1,
        formats=["nifti"],
        truncation=0.8,
    )
    for k in range(2):
        written = nib.load(tmp_path / "asymmetry" / f"asymmetry_{k:05d}.nii.gz").get_fdata()
        np.testing.assert_allclose(written, batch[k, 0].numpy(), atol=1e-6)


@pytest.mark.parametrize(
    "args, message",
    [(("dog", 2), "unknown class 'dog'"), ((7, 2), "unknown class 7"), (("mass", 0), "num_samples must be at least 1")],
)
def test_errors_name_the_problem(bundle, args, message):
    with pytest.raises(ValueError, match=message):
        monai_roigan.generate(str(bundle), *args)


def test_errors_name_the_file(bundle, tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        monai_roigan.generate(tmp_path / "nowhere", "mass", 1)
    with pytest.raises(ValueError, match="4 classes"):
        monai_roigan.generate(str(bundle), "mass", 1, class_names=["mass", "normal"])
