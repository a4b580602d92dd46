"""Tissue pretraining and FreezeD: weight transfer from K + 1 to K classes, frozen discriminator blocks that do not
move during fine-tuning, tissue ROIs of the training women only, and the bundle's two-stage run."""

import subprocess
import sys

import numpy as np
import pytest
import torch
from monai.data import DataLoader

from monai_roigan.apps import tissue_datalist, training_datalist, training_rois, transfer_pretrained
from monai_roigan.data import ABNORMALITY_CLASSES
from monai_roigan.data.splits import split_datalist
from monai_roigan.engines import GanLosses, ROIGanTrainer, make_ema
from monai_roigan.networks import (
    ROIDiscriminator,
    ROIGenerator,
    discriminator_blocks,
    freeze_lower_blocks,
    transfer_weights,
)
from monai_roigan.utils.errors import CheckpointError, ConfigurationError
from tests.conftest import REPO

CONFIGS = REPO / "bundle" / "configs"


def networks(num_classes: int, seed: int = 0):
    torch.manual_seed(seed)
    return (
        ROIGenerator(num_classes=num_classes, width=0.0625),
        ROIDiscriminator(num_classes=num_classes, width=0.0625, aux_classifier=True),
    )


def test_transfer_keeps_the_lesion_rows_of_a_network_with_one_more_class():
    (g5, d5), (g4, d4) = networks(5, seed=1), networks(4, seed=2)
    assert transfer_weights(g5.state_dict(), g4) == [] and transfer_weights(d5.state_dict(), d4) == []
    assert torch.equal(g4.embed.weight, g5.embed.weight[:4]) and torch.equal(d4.classifier.bias, d5.classifier.bias[:4])
    assert torch.equal(d4.embed.weight, d5.embed.weight[:4]) and torch.equal(g4.project[0].weight, g5.project[0].weight)
    wider = ROIGenerator(num_classes=4, width=0.125)
    assert "project.0.weight" in transfer_weights(g5.state_dict(), wider), "a shape that does not fit is reported"


def fine_tune(d: ROIDiscriminator, g: ROIGenerator, iterations: int = 6):
    rng = torch.Generator().manual_seed(0)
    data = [{"image": torch.rand(1, 64, 64, generator=rng) * 2 - 1, "label": k % 4} for k in range(16)]
    trainer = ROIGanTrainer(
        "cpu",
        10,
        DataLoader(data, batch_size=8, shuffle=True),
        g,
        torch.optim.Adam(g.parameters(), 2e-3),
        d,
        torch.optim.Adam(d.parameters(), 2e-3),
        ema=make_ema(g, 0.9),
        losses=GanLosses(aux_weight=1.0, mode_seeking_weight=1.0),
        epoch_length=iterations,
    )
    trainer.run()


def test_freezed_leaves_the_frozen_blocks_unchanged_and_trains_the_rest():
    g, d = networks(4)
    names = freeze_lower_blocks(d, 2)
    conv_names = [n for n in names if n.endswith("weight") and d.get_parameter(n).ndim == 4]
    assert len(conv_names) == 2 and len(discriminator_blocks(d)) == 5
    before = {n: p.detach().clone() for n, p in d.named_parameters()}
    fine_tune(d, g)
    for name, parameter in d.named_parameters():
        if name in names:
            assert torch.equal(parameter, before[name]), f"{name} is frozen but changed"
        else:
            assert not torch.equal(parameter, before[name]), f"{name} should train"
    with pytest.raises(ValueError, match=r"freeze_d_blocks must be in \[0, 4\]"):
        freeze_lower_blocks(networks(4)[1], 5)


def test_transfer_pretrained_checks_the_file(tmp_path):
    g4, d4 = networks(4)
    g5, d5 = networks(5, seed=3)
    ema = make_ema(g4, 0.99)
    good = tmp_path / "pretrained.pt"
    torch.save({"generator": g5.state_dict(), "discriminator": d5.state_dict()}, good)
    frozen = transfer_pretrained(good, g4, d4, ema, freeze_d_blocks=1)
    assert frozen and torch.equal(ema.module.embed.weight, g5.embed.weight[:4]) and int(ema.n_averaged) == 0
    bad = tmp_path / "model.pt"
    torch.save(g5.state_dict(), bad)
    with pytest.raises(CheckpointError, match="model.pt: not a pretrained file"):
        transfer_pretrained(bad, *networks(4), make_ema(networks(4)[0], 0.9))
    wide = tmp_path / "wide.pt"
    torch.save(
        {"generator": ROIGenerator(num_classes=5, width=0.125).state_dict(), "discriminator": d5.state_dict()}, wide
    )
    with pytest.raises(CheckpointError, match="wide.pt: pretrained weights do not fit"):
        transfer_pretrained(wide, *networks(4), make_ema(networks(4)[0], 0.9))


@pytest.fixture(scope="module")
def tissue_cache(phantom_dir, tmp_path_factory):
    return training_rois(tmp_path_factory.mktemp("cache"), phantom_dir, "mias", augment="none", normal_per_image=3)


def test_tissue_rois_come_from_training_women_only(tissue_cache):
    items = tissue_datalist(tissue_cache, ABNORMALITY_CLASSES, image_size=64, holdout_fraction=0.3, split_seed=0)
    lesions = [i for i in items if i["label"] < 4]
    normals = [i for i in items if i["label"] == 4]
    assert lesions and normals
    main = training_datalist(tissue_cache, ABNORMALITY_CLASSES, 64, holdout_fraction=0.3, split_seed=0)
    assert sorted(i["group"] for i in lesions) == sorted(i["group"] for i in main), "the lesion split of training"
    everything = [i for i in training_datalist(tissue_cache, ABNORMALITY_CLASSES, 64)]
    held = {i["group"] for i in split_datalist(everything, 0.3, 0)[1]}
    assert held and not held & {i["group"] for i in items}
    all_normals = tissue_datalist(tissue_cache, ABNORMALITY_CLASSES, image_size=64)
    assert len([i for i in all_normals if i["label"] == 4]) > len(normals), "held-out normal women are left out"


def test_tissue_datalist_needs_normal_tissue(phantom_dir, tmp_path):
    lesions_only = training_rois(tmp_path, phantom_dir, "mias", augment="none", normal_per_image=0)
    with pytest.raises(ConfigurationError, match=r"normal_per_image > 0"):
        tissue_datalist(lesions_only, ABNORMALITY_CLASSES)


def bundle_training(root, *extra):
    configs = f"['{CONFIGS / 'train.json'}','{CONFIGS / 'pretrain.json'}']"
    cmd = [
        sys.executable,
        "-m",
        "monai.bundle",
        "run",
        "training",
        "--config_file",
        configs,
        "--bundle_root",
        str(root),
        "--max_epochs",
        "1",
        "--pretrain_epochs",
        "1",
        "--num_phantom_images",
        "10",
        "--augment",
        "rot90",
        "--width",
        "0.0625",
        "--d_width",
        "0.0625",
        "--tissue_normal_per_image",
        "4",
        *extra,
    ]
    result = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


def test_the_bundle_pretrains_on_tissue_then_fine_tunes_with_frozen_blocks(tmp_path):
    log = bundle_training(tmp_path)
    pretrained = torch.load(tmp_path / "models" / "pretrained.pt", weights_only=True)
    assert pretrained["generator"]["embed.weight"].shape[0] == 5, "stage 1 has the normal class too"
    assert list((tmp_path / "runs" / "train" / "pretrain" / "checkpoints").glob("best_checkpoint_*.pt"))
    (final,) = (tmp_path / "runs" / "train" / "checkpoints").glob("checkpoint_*.pt")
    d = torch.load(final, weights_only=True)["discriminator"]
    first_conv = pretrained["discriminator"]["features.0.weight"]
    assert torch.equal(d["features.0.weight"], first_conv), "FreezeD: the first block kept its pretrained weights"
    assert not torch.equal(d["head.weight"], pretrained["discriminator"]["head.weight"]), "the head fine-tuned"
    assert (tmp_path / "models" / "model.pt").is_file() and "stage 1 starts" in log
    again = bundle_training(tmp_path, "--resume", "true")
    assert "reusing" in again and "stage 1 starts" not in again, "a finished stage 1 is never repeated"
    assert np.isfinite(torch.load(tmp_path / "models" / "model.pt", weights_only=True)["to_image.0.weight"]).all()
