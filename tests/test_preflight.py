"""Fail fast: a setup that cannot work raises ConfigurationError before the first training step."""

import os
from collections import namedtuple

import pytest
import torch
from monai.bundle import ConfigWorkflow

import monai_roigan.apps.preflight as preflight
from monai_roigan.apps import check_training_setup, training_datalist
from monai_roigan.data.roi_cache import ROICache, write_roi_cache
from monai_roigan.networks.nets import PerClassGenerator, ROIDiscriminator, ROIGenerator
from monai_roigan.utils import ConfigurationError
from tests.conftest import REPO

CLASSES = ["architectural_distortion", "asymmetry", "calcification", "mass"]


def networks(num_classes=4, size=64):
    g = ROIGenerator(latent_dim=8, num_classes=num_classes, width=1 / 64, output_size=size)
    return g, ROIDiscriminator(num_classes=num_classes, width=1 / 64, input_size=size)


def setup(tmp_path, **overrides):
    g, d = networks()
    args = dict(
        class_names=CLASSES,
        image_size=64,
        generator=g,
        discriminator=d,
        output_dirs=[tmp_path / "out", tmp_path / "out" / "checkpoints"],
        checkpoint_dir=tmp_path / "out" / "checkpoints",
    )
    args.update(overrides)
    check_training_setup(**args)


def test_a_sound_setup_passes_and_creates_its_folders(tmp_path):
    setup(tmp_path)
    assert (tmp_path / "out" / "checkpoints").is_dir()
    assert not list((tmp_path / "out").glob(".write_probe_*"))


@pytest.mark.parametrize(
    "class_names, problem",
    [(["mass", "tumour"], r"unknown \['tumour'\]"), ([], "empty"), (["mass", "mass"], "repeated")],
)
def test_bad_class_names(tmp_path, class_names, problem):
    with pytest.raises(ConfigurationError, match=problem):
        setup(tmp_path, class_names=class_names)


def test_class_count_of_the_networks_must_match_the_class_names(tmp_path):
    g, d = networks(num_classes=3)
    with pytest.raises(ConfigurationError, match="built for 3 classes"):
        setup(tmp_path, generator=g, discriminator=d)


@pytest.mark.parametrize("image_size, problem", [(100, "power of two"), (128, "built for 4 classes and 64 px")])
def test_wrong_image_size(tmp_path, image_size, problem):
    with pytest.raises(ConfigurationError, match=problem):
        setup(tmp_path, image_size=image_size)


def test_output_folder_blocked_by_a_file(tmp_path):
    (tmp_path / "out").write_text("a file where the output folder should be")
    with pytest.raises(ConfigurationError, match=f"{tmp_path / 'out'}.*not writable"):
        setup(tmp_path)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores write permissions")
def test_read_only_output_folder(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out").chmod(0o500)
    try:
        with pytest.raises(ConfigurationError, match="not writable"):
            setup(tmp_path)
    finally:
        (tmp_path / "out").chmod(0o700)


def test_too_little_disk_space(tmp_path, monkeypatch):
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(preflight.shutil, "disk_usage", lambda path: usage(10 * 2**20, 9 * 2**20, 2**20))
    with pytest.raises(ConfigurationError, match=r"1 MiB free on this disk, training needs about \d+ MiB"):
        setup(tmp_path)
    monkeypatch.undo()
    setup(tmp_path)


def test_checkpoint_size_estimate_matches_a_real_checkpoint(tmp_path):
    g, d = networks()
    opt_g, opt_d = torch.optim.Adam(g.parameters()), torch.optim.Adam(d.parameters())
    for net, opt in ((g, opt_g), (d, opt_d)):  # populate Adam's moment buffers
        sum(p.sum() for p in net.parameters()).backward()
        opt.step()
    path = tmp_path / "checkpoint.pt"
    torch.save(
        {
            "generator": g.state_dict(),
            "discriminator": d.state_dict(),
            "g_opt": opt_g.state_dict(),
            "d_opt": opt_d.state_dict(),
            "ema": g.state_dict(),
        },
        path,
    )
    estimate = preflight.checkpoint_bytes(g, d) + preflight.checkpoint_bytes(g, optimizer_slots=0)
    assert 0.8 < estimate / path.stat().st_size <= 1.0  # the file adds pickle overhead only


@pytest.mark.parametrize(
    "saved",
    [
        lambda: networks(num_classes=5)[0],
        lambda: networks(size=128)[0],
        lambda: PerClassGenerator(num_classes=3, latent_dim=8, width=1 / 64),
    ],
)
def test_resume_from_a_checkpoint_of_another_class_count_or_size(tmp_path, saved):
    ckpt = tmp_path / "out" / "checkpoints"
    ckpt.mkdir(parents=True)
    torch.save({"generator": saved().state_dict()}, ckpt / "checkpoint_40.pt")
    setup(tmp_path, resume=False)  # not resuming: the old checkpoint does not matter
    with pytest.raises(ConfigurationError, match=r"checkpoint_40.pt: the checkpoint's generator (has|makes)"):
        setup(tmp_path, resume=True)


def test_roi_cache_of_another_size_is_refused(tmp_path):
    cache = ROICache(class_names=CLASSES)
    for label in range(4):
        cache.images.append(torch.zeros(1, 32, 32).numpy())
        cache.labels.append(label)
        cache.sources.append(f"mdb00{label}.pgm")
        cache.groups.append(f"mdb00{label}")
        cache.centers.append((10, 10))
        cache.windows.append(64)
        cache.spacing_mm.append(0.4)
        cache.augmentation.append("r0")
    path = write_roi_cache(cache, tmp_path / "rois.npz")
    assert len(training_datalist(path, CLASSES, image_size=32)) == 4
    with pytest.raises(ConfigurationError, match=r"rois.npz: ROIs of shape \[\(1, 32, 32\)\], the networks need"):
        training_datalist(path, CLASSES, image_size=64)


def bundle_training(root, **overrides):
    workflow = ConfigWorkflow(
        config_file=str(REPO / "bundle" / "configs" / "train.json"),
        workflow_type="train",
        bundle_root=str(root),
        **overrides,
    )
    workflow.initialize()
    return workflow


def causes(err):
    while err is not None:
        yield err
        err = err.__cause__ or err.__context__


@pytest.mark.parametrize(
    "override, problem",
    [
        ({"class_names": ["mass", "tumour"]}, "unknown"),
        ({"image_size": 100}, "power of two"),
        ({"resume": True}, "has 5 classes, the configuration 4"),
    ],
)
def test_bundle_fails_before_preparing_data_or_training(tmp_path, override, problem):
    ckpt = tmp_path / "runs" / "train" / "checkpoints"
    ckpt.mkdir(parents=True)
    torch.save({"generator": networks(num_classes=5)[0].state_dict()}, ckpt / "checkpoint_7.pt")
    with pytest.raises(Exception) as info:
        bundle_training(tmp_path, **override)
    assert any(isinstance(e, ConfigurationError) and problem in str(e) for e in causes(info.value)), info.value
    assert not list((tmp_path / "data").glob("*"))  # no phantom generated, no ROI prepared
    assert sorted(p.name for p in ckpt.iterdir()) == ["checkpoint_7.pt"]  # nothing trained or written
