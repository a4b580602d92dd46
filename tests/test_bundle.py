"""The MONAI bundle: configs parse, metadata is complete, and train -> inference -> TorchScript works end to end."""

import json
import subprocess
import sys

import nibabel as nib
import numpy as np
import pytest
import torch
from monai.bundle import ConfigParser
from PIL import Image

from monai_roigan.networks import ROIGenerator, synthesize
from tests.conftest import REPO

CONFIGS = REPO / "bundle" / "configs"


def overlay(*names: str) -> str:
    """MONAI's list form of ``--config_file``: train.json first, the named overlays on top."""
    return "[" + ",".join(f"'{CONFIGS / n}'" for n in ("train.json", *names)) + "]"


#: settings that only train.json may define: evaluation, the downstream experiment and inference read them from it
SHARED_SETTINGS = {
    "bundle_root",
    "model_path",
    "cache_dir",
    "dataset_dir",
    "datalist",
    "dataset",
    "num_phantom_images",
    "holdout_fraction",
    "split_seed",
    "seed",
    "class_names",
    "image_size",
    "latent_distribution",
    "truncation",
    "width",
    "d_width",
    "latent_dim",
    "conditional",
    "mode",
    "heldout_seed",
    "test_dataset_dir",
    "test_dataset",
    "test_datalist",
    "real_rois",
    "min_confidence",
    "sample_filter",
}

REQUIRED_METADATA = {
    "version": str,
    "changelog": dict,
    "monai_version": str,
    "pytorch_version": str,
    "numpy_version": str,
    "task": str,
    "description": str,
    "authors": str,
    "copyright": str,
    "intended_use": str,
    "data_source": str,
    "network_data_format": dict,
}


def test_metadata_has_required_keys_offline():
    """MONAI's verify_metadata downloads its schema; this checks the required keys and types without a network."""
    meta = json.loads((CONFIGS / "metadata.json").read_text())
    for key, kind in REQUIRED_METADATA.items():
        assert isinstance(meta.get(key), kind), key
    assert meta["version"] in meta["changelog"]
    assert "not for clinical" in meta["intended_use"].lower()
    fmt = meta["network_data_format"]
    assert set(fmt["inputs"]) == {"latent", "label"} and fmt["inputs"]["latent"]["num_channels"] == 100
    out = fmt["outputs"]["pred"]
    assert out["spatial_shape"] == [64, 64] and out["value_range"] == [-1, 1] and out["num_channels"] == 1


def test_metadata_versions_agree_with_the_package_and_its_dependencies():
    """One version for the package, its pyproject and the bundle; every runtime dependency pinned as tested."""
    from importlib.metadata import version

    import tomllib

    import monai_roigan

    meta = json.loads((CONFIGS / "metadata.json").read_text())
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert meta["version"] == project["version"] == monai_roigan.__version__
    assert meta["required_packages_version"]["monai-roigan"] == meta["version"]
    newest = max(meta["changelog"], key=lambda v: tuple(int(p) for p in v.split(".")))
    assert newest == meta["version"], "the changelog's newest entry is the bundle's version"
    own_fields = {"torch": "pytorch_version", "monai": "monai_version", "numpy": "numpy_version"}
    for requirement in project["dependencies"]:
        name = requirement.split(">")[0].split("=")[0].split("<")[0].strip().lower()
        pinned = meta.get(own_fields[name]) if name in own_fields else meta["required_packages_version"].get(name)
        assert pinned, f"metadata.json does not pin the dependency {name}"
        assert version(name).split("+")[0] == pinned, f"{name}: installed {version(name)}, metadata says {pinned}"
    assert meta["eval_metrics"], "eval_metrics holds the measured numbers"
    for name, value in meta["eval_metrics"].items():
        assert isinstance(value, (int, float)) and not isinstance(value, bool), name


@pytest.mark.parametrize(
    "name",
    [
        "train.json",
        "inference.json",
        "paper.json",
        "per_class.json",
        "metadata.json",
        "multi_gpu_train.json",
        "multi_gpu_inference.json",
        "evaluate.json",
        "downstream.json",
        "pretrain.json",
    ],
)
def test_configs_are_json(name):
    json.loads((CONFIGS / name).read_text())


def test_train_config_builds_the_paper_networks_when_overridden():
    parser = ConfigParser()
    parser.read_config([str(CONFIGS / "train.json"), str(CONFIGS / "paper.json")])
    g = parser.get_parsed_content("network_def")
    assert sum(p.numel() for p in g.parameters()) == 20_100_801
    d = parser.get_parsed_content("discriminator_def")  # paper.json sets d_width too
    assert sum(p.numel() for p in d.parameters()) == 17_495_425


@pytest.mark.parametrize("name", ["inference.json", "evaluate.json", "downstream.json"])
def test_overlays_take_data_class_split_and_sampling_settings_from_train_json(name):
    """One source of truth: an overlay defines none of the shared settings, so they cannot differ from training's."""
    keys = set(json.loads((CONFIGS / name).read_text()))
    assert not keys & SHARED_SETTINGS, sorted(keys & SHARED_SETTINGS)
    parser = ConfigParser()
    parser.read_config([str(CONFIGS / "train.json"), str(CONFIGS / name)])
    parser["class_names"] = ["mass", "calcification"]  # as a --class_names override would
    assert parser.get_parsed_content("class_names") == ["mass", "calcification"]
    assert "run" in keys and "initialize" in keys  # MONAI's default run id runs the overlay's job, not training


def test_no_config_reads_dead_or_positional_keys():
    train = json.loads((CONFIGS / "train.json").read_text())
    assert "mode" not in train  # read by nothing; per_class.json switches the networks
    for name in ("multi_gpu_train.json", "train.json"):
        assert "train_handlers[" not in (CONFIGS / name).read_text()  # handlers by name, never by position
    assert set(train["rank_zero_handlers"]) | {"@nan_guard", "@checkpoint_saver"} >= {
        "@stats_handler",
        "@quality_score",
        "@export_generator",
    }


def bundle(*args, cwd=REPO):
    cmd = [sys.executable, "-m", "monai.bundle", *args]
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("bundle")
    bundle(
        "run",
        "training",
        "--config_file",
        str(CONFIGS / "train.json"),
        "--bundle_root",
        str(root),
        "--max_epochs",
        "1",
        "--num_phantom_images",
        "10",
        "--augment",
        "rot90",
        "--width",
        "0.0625",
    )
    return root


def test_training_writes_model_samples_curves_checkpoint(trained):
    assert (trained / "models" / "model.pt").is_file()
    assert (trained / "runs" / "train" / "samples" / "final.png").is_file()
    assert (trained / "runs" / "train" / "curves.png").is_file()
    assert list((trained / "runs" / "train" / "checkpoints").glob("checkpoint_*.pt"))
    assert list((trained / "runs" / "train" / "tensorboard").iterdir())
    assert (trained / "data" / "phantom" / "Info.txt").is_file()


def test_inference_writes_png_and_nifti_per_class(trained):
    args = [
        "run",
        "inference",
        "--config_file",
        overlay("inference.json"),
        "--bundle_root",
        str(trained),
        "--num_per_class",
        "3",
        "--seed",
        "5",
    ]
    bundle(*args)
    out = trained / "runs" / "inference"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["synthetic"] is True and len(manifest["items"]) == 12
    png = np.asarray(Image.open(out / "mass" / "mass_00002.png"))
    nifti = nib.load(out / "mass" / "mass_00002.nii.gz")
    assert png.shape == (64, 64) and png.dtype == np.uint8 and nifti.shape == (64, 64)
    data = np.asarray(nifti.dataobj)
    assert data.min() >= -1 and data.max() <= 1
    np.testing.assert_allclose(png, np.clip((data + 1) / 2, 0, 1) * 255, atol=1.01)
    first = data.copy()
    bundle(*args)  # same seed, same images
    np.testing.assert_array_equal(np.asarray(nib.load(out / "mass" / "mass_00002.nii.gz").dataobj), first)


def test_evaluate_and_downstream_commands_write_their_reports(trained):
    """The two commands of docs/evaluation.md, on the trained bundle (the phantom it trained on, 10 mammograms)."""
    common = ["--bundle_root", str(trained), "--num_phantom_images", "10", "--output_dir", str(trained / "eval")]
    bundle(
        "run",
        "evaluate",
        "--config_file",
        overlay("evaluate.json"),
        *common,
        "--num_per_class",
        "4",
        "--table_images",
        "3",
        "--classifier_epochs",
        "1",
        "--gs_repeats",
        "2",
    )
    report = (trained / "eval" / "report.md").read_text()
    assert report.count("| **Average** |") == 4 and "independent phantom (seed 1, 10 mammograms)" in report
    assert len((trained / "eval" / "per_image.csv").read_text().splitlines()) > 2 * 16
    bundle(
        "run",
        "downstream",
        "--config_file",
        overlay("downstream.json"),
        *common,
        "--folds",
        "2",
        "--steps",
        "2",
        "--arms",
        "['real','copy_paste','synthetic']",
        "--repeats",
        "1",
    )
    folds = (trained / "eval" / "downstream_folds.csv").read_text().splitlines()
    assert len(folds) == 1 + 2 * 2 * 3  # both tasks, 2 folds, 3 arms
    text = (trained / "eval" / "downstream.md").read_text()
    assert "## Verdict, lesion_type" in text and "## Verdict, abnormal_vs_normal" in text


def test_torchscript_export(trained):
    target = trained / "model.ts"
    bundle(
        "ckpt_export",
        "network_def",
        "--filepath",
        str(target),
        "--ckpt_file",
        str(trained / "models" / "model.pt"),
        "--meta_file",
        str(CONFIGS / "metadata.json"),
        "--config_file",
        overlay("inference.json"),
        "--width",
        "0.0625",
    )
    scripted = torch.jit.load(str(target))
    out = scripted(torch.rand(2, 100) * 2 - 1, torch.tensor([0, 3]))
    assert out.shape == (2, 1, 64, 64)


def test_per_class_mode_trains_generates_and_exports(tmp_path):
    """per_class.json: one unconditional model per class behind one file, one command, same inference."""
    configs = f"['{CONFIGS / 'train.json'}','{CONFIGS / 'per_class.json'}']"
    bundle(
        "run",
        "training",
        "--config_file",
        configs,
        "--bundle_root",
        str(tmp_path),
        "--max_epochs",
        "1",
        "--num_phantom_images",
        "10",
        "--augment",
        "rot90",
        "--width",
        "0.0625",
        "--d_width",
        "0.0625",
    )
    state = torch.load(tmp_path / "models" / "model.pt", weights_only=True)
    assert {k.split(".")[1] for k in state if k.startswith("models.")} == {"0", "1", "2", "3"}
    infer = overlay("per_class.json", "inference.json")
    bundle("run", "inference", "--config_file", infer, "--bundle_root", str(tmp_path), "--num_per_class", "2")
    manifest = json.loads((tmp_path / "runs" / "inference" / "manifest.json").read_text())
    assert sorted({i["class_name"] for i in manifest["items"]}) == sorted(
        json.loads((CONFIGS / "train.json").read_text())["class_names"]
    )
    target = tmp_path / "model.ts"
    bundle(
        "ckpt_export",
        "network_def",
        "--filepath",
        str(target),
        "--ckpt_file",
        str(tmp_path / "models" / "model.pt"),
        "--meta_file",
        str(CONFIGS / "metadata.json"),
        "--config_file",
        infer,
        "--width",
        "0.0625",
    )
    scripted = torch.jit.load(str(target))
    assert scripted(torch.rand(3, 100) * 2 - 1, torch.tensor([3, 0, 3])).shape == (3, 1, 64, 64)


def test_a_width_one_model_generates_through_inference_json_alone(tmp_path):
    """inference.json loads the generator from its weights: a paper-width model.pt needs no paper.json, and MONAI's
    default run id (``run``) generates."""
    generator = ROIGenerator(num_classes=4, width=1.0).eval()
    (tmp_path / "models").mkdir()
    torch.save(generator.state_dict(), tmp_path / "models" / "model.pt")
    bundle(
        "run",
        "--config_file",
        overlay("inference.json"),
        "--bundle_root",
        str(tmp_path),
        "--num_per_class",
        "1",
        "--output_formats",
        "['nifti']",
        "--truncation",
        "1.0",
    )
    out = tmp_path / "runs" / "inference"
    written = np.asarray(nib.load(out / "calcification" / "calcification_00000.nii.gz").dataobj)
    expected = synthesize(generator, 2, [0], seed=0)[0, 0].numpy()
    np.testing.assert_allclose(written, expected, atol=1e-5)
