"""The MONAI bundle: configs parse, metadata is complete, and train -> inference -> TorchScript works end to end."""

import csv
import json
import re
import subprocess
import sys

import nibabel as nib
import numpy as np
import pytest
import torch
from monai.bundle import ConfigParser, ConfigWorkflow
from monai.bundle.reference_resolver import ReferenceResolver
from PIL import Image

from monai_roigan.networks import ROIGenerator, synthesize
from tests.conftest import REPO

CONFIGS = REPO / "bundle" / "configs"


def overlay(*names: str) -> str:
    """MONAI's list form of ``--config_file``: train.json first, the named overlays on top."""
    return "[" + ",".join(f"'{CONFIGS / n}'" for n in ("train.json", *names)) + "]"


#: settings that only train.json may define: evaluation and the downstream experiment read them from it
#: (inference.json runs alone, so it defines those it reads, with train.json's values: see the agreement test)
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
    "heldout_seed",
    "test_dataset_dir",
    "test_dataset",
    "test_datalist",
    "real_rois",
    "min_confidence",
    "sample_filter",
    "residual_scale",
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
        "realism.json",
        "pretrain.json",
        "select_by_realism.json",
        "counterpart.json",
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


@pytest.mark.parametrize("name", ["evaluate.json", "downstream.json", "realism.json"])
def test_overlays_take_data_class_split_and_sampling_settings_from_train_json(name):
    """One source of truth: an overlay defines none of the shared settings, so they cannot differ from training's."""
    keys = set(json.loads((CONFIGS / name).read_text()))
    assert not keys & SHARED_SETTINGS, sorted(keys & SHARED_SETTINGS)
    parser = ConfigParser()
    parser.read_config([str(CONFIGS / "train.json"), str(CONFIGS / name)])
    parser["class_names"] = ["mass", "calcification"]  # as a --class_names override would
    assert parser.get_parsed_content("num_classes") == 2, "train.json's items read the overridden classes"
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
    for path in CONFIGS.glob("*.json"):  # the evaluation ROIs are one object (EvaluationROIs), read by name
        assert not re.search(r"@real_rois(\[|\.)", path.read_text()), path.name


#: every documented way to run the bundle: the config files (in --config_file order) and the ids MONAI runs there
#: (the run targets; ``ckpt_export network_def`` reads ``network_def`` with train.json and inference.json)
BUNDLE_RUNS = [
    (("train.json",), ("training", "initialize", "run", "finalize")),
    (("inference.json",), ("inference", "initialize", "run", "finalize")),
    (("train.json", "inference.json"), ("inference", "initialize", "run", "finalize", "network_def")),
    (("train.json", "evaluate.json"), ("evaluate", "initialize", "run", "finalize")),
    (("train.json", "downstream.json"), ("downstream", "tune", "initialize", "run", "finalize")),
    (("train.json", "realism.json"), ("realism", "initialize", "run", "finalize")),
    (("train.json", "pretrain.json"), ("training", "initialize", "run", "finalize")),
    (("train.json", "context.json"), ("training", "initialize", "run", "finalize")),
    (("train.json", "residual.json"), ("training", "initialize", "run", "finalize")),
    (("train.json", "select_by_realism.json"), ("training", "initialize", "run", "finalize")),
    (("train.json", "context.json", "counterpart.json"), ("training", "initialize", "run", "finalize")),
    (("train.json", "paper.json"), ("training", "initialize", "run", "finalize")),
    (("train.json", "per_class.json"), ("training", "initialize", "run", "finalize")),
    (("train.json", "per_class.json", "inference.json"), ("inference", "run", "network_def")),
    (("train.json", "multi_gpu_train.json"), ("training", "initialize", "run", "finalize")),
    (("inference.json", "multi_gpu_inference.json"), ("inference",)),
    (("train.json", "inference.json", "multi_gpu_inference.json"), ("inference",)),
]

#: keys read by something other than a config item, each with its reader. ``imports``: MONAI evaluates every
#: ``$import`` item first. ``sample_filter``: Python code builds the bundle's sample filter from train.json
#: (docs/augmentation.md, tests/test_sample_filter.py: ``parser.get_parsed_content("sample_filter")``).
READ_OUTSIDE_THE_CONFIGS = {"imports", "sample_filter"}

#: keys that train.json and inference.json both define with different values by design: each job's own steps
#: and output folder
PER_JOB_KEYS = {"imports", "initialize", "run", "finalize", "output_dir"}


def _top_key(key: str) -> str:
    """The top-level item a config key sets: ``trainer#insert_prob`` sets ``trainer``, ``+imports`` ``imports``."""
    return ReferenceResolver.split_id(key.lstrip("+"))[0]


def _reachable(merged: dict, targets) -> set[str]:
    """The top-level items that the ``targets`` read, directly or through other items."""
    seen, todo = set(), [t for t in targets if t in merged]
    while todo:
        key = todo.pop()
        if key in seen:
            continue
        seen.add(key)
        refs = ReferenceResolver.find_refs_in_config(merged[key], key)
        todo += [_top_key(r) for r in refs if _top_key(r) in merged and not r.startswith(key + "::")]
    return seen


def test_every_config_key_is_read():
    """A key that no run target reads (directly, through another key or through an overlay's run) is dead: it
    misleads whoever overrides it. Every config file takes part in a documented run."""
    configs = sorted(p.name for p in CONFIGS.glob("*.json") if p.name != "metadata.json")
    assert sorted({n for names, _ in BUNDLE_RUNS for n in names}) == configs, "a config no documented run uses"
    read: dict[str, set[str]] = {name: set() for name in configs}
    for names, targets in BUNDLE_RUNS:
        merged = ConfigParser.load_config_files([str(CONFIGS / n) for n in names])
        reachable = _reachable(merged, [*targets, *READ_OUTSIDE_THE_CONFIGS])  # and what those items refer to
        for position, name in enumerate(names):
            replaced_later = {k for n in names[position + 1 :] for k in json.loads((CONFIGS / n).read_text())}
            for key in json.loads((CONFIGS / name).read_text()):
                if _top_key(key) in reachable | READ_OUTSIDE_THE_CONFIGS and key not in replaced_later:
                    read[name].add(key)  # a key that a later file replaces is not read in this run
    for name in configs:
        dead = set(json.loads((CONFIGS / name).read_text())) - read[name]
        assert not dead, f"{name} defines keys nothing reads: {sorted(dead)}"


@pytest.mark.parametrize("names", [names for names, _ in BUNDLE_RUNS], ids=lambda names: "+".join(names))
def test_every_documented_run_defines_every_key_it_refers_to(names):
    """So that an overlay's check (``monai_roigan.apps.check_overlay``) passes in every documented run."""
    from monai_roigan.apps.bundle_config import undefined_references

    parser = ConfigParser()
    parser.read_config([str(CONFIGS / n) for n in names])
    parser.parse()
    assert undefined_references(parser.ref_resolver) == []


def test_train_and_inference_json_agree_on_every_setting_both_define():
    """inference.json runs alone, so it defines the settings it reads; each must have train.json's value, so
    that the two files cannot drift apart (one setting, one value)."""
    train = json.loads((CONFIGS / "train.json").read_text())
    inference = json.loads((CONFIGS / "inference.json").read_text())
    shared = (set(train) & set(inference)) - PER_JOB_KEYS
    assert {"bundle_root", "model_path", "device", "class_names", "seed", "truncation"} <= shared
    assert {k: inference[k] for k in shared} == {k: train[k] for k in shared}


@pytest.mark.parametrize(
    "names, target, missing",
    [
        (("evaluate.json",), "evaluate", "model_path"),
        (("downstream.json",), "downstream", "real_rois"),
        (("realism.json",), "realism", "model_path"),
        (("pretrain.json",), "training", "trainer"),
        (("multi_gpu_inference.json",), "inference", "generate"),
    ],
)
def test_an_overlay_without_its_base_names_the_missing_keys_and_the_command(names, target, missing):
    """In-process (fast) form of the subprocess test below, for every overlay with a run target."""
    workflow = ConfigWorkflow(
        config_file=[str(CONFIGS / n) for n in names], logging_file=False, workflow_type=None, run_id=target
    )
    with pytest.raises(RuntimeError) as raised:
        workflow.initialize()
        workflow.run()
    message = str(raised.value.__cause__)
    base = "inference.json" if names[0].startswith("multi_gpu") else "train.json"
    assert f"{CONFIGS / names[0]} is an overlay on {base}" in message and f"`{missing}`" in message
    assert f"--config_file \"['{CONFIGS / base}','{CONFIGS / names[0]}']\"" in message


def bundle(*args, cwd=REPO, log=None, check=True):
    """``python -m monai.bundle *args``; with ``log``, its stdout and stderr go to that file (not a terminal)."""
    cmd = [sys.executable, "-m", "monai.bundle", *args]
    if log is None:
        result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600)
    else:
        with open(log, "w") as out:
            result = subprocess.run(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, text=True, timeout=600)
    if check:
        assert result.returncode == 0, (result.stdout or "")[-3000:] + (result.stderr or "")[-3000:]
    return result


#: the trained fixture's log_interval: an INFO line of losses every 2 iterations
LOG_INTERVAL = 2


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A bundle trained 2 epochs (batches of 8, several iterations each) on a small phantom (16 mammograms), its
    output written to ``train.log`` (a file, as in a batch job)."""
    root = tmp_path_factory.mktemp("bundle")
    bundle(
        "run",
        "training",
        "--config_file",
        str(CONFIGS / "train.json"),
        "--bundle_root",
        str(root),
        "--max_epochs",
        "2",
        "--num_phantom_images",
        "16",
        "--augment",
        "rot90",
        "--width",
        "0.0625",
        "--batch_size",
        "8",
        "--log_interval",
        str(LOG_INTERVAL),
        log=root / "train.log",
    )
    return root


def test_a_training_logged_to_a_file_has_no_bar_and_a_line_every_log_interval(trained):
    """Off a terminal ignite's bar is not drawn, and StatsHandler logs every ``log_interval`` iterations (MONAI's
    StatsHandler reads an int ``iteration_log`` as "every iteration")."""
    log = (trained / "train.log").read_text()
    assert "\r" not in log and "█" not in log and "%|" not in log, "a tqdm bar in a log file"
    lines = re.findall(r"Epoch: (\d+)/(\d+), Iter: (\d+)/(\d+) --", log)
    assert lines, log[-3000:]
    epochs, per_epoch = int(lines[0][1]), int(lines[0][3])
    assert epochs * per_epoch >= 2 * LOG_INTERVAL, "too few iterations to tell an interval from every iteration"
    assert len(lines) == epochs * per_epoch // LOG_INTERVAL
    assert all(((int(e) - 1) * per_epoch + int(i)) % LOG_INTERVAL == 0 for e, _, i, _ in lines)


def test_engine_progress_bar_and_every(monkeypatch):
    import io

    from ignite.handlers import ProgressBar

    from monai_roigan.utils.progress import engine_progress_bar, every

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert not isinstance(engine_progress_bar(persist=False), ProgressBar)
    monkeypatch.setattr(sys, "stderr", Terminal())
    assert isinstance(engine_progress_bar(persist=False), ProgressBar)
    assert [k for k in range(1, 61) if every(20)(None, k)] == [20, 40, 60]
    with pytest.raises(ValueError, match="positive"):
        every(0)


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
    """The two commands of docs/evaluation.md, on the trained bundle (the phantom it trained on, 16 mammograms: 8
    women, at least 2 of each primary class, as the downstream judge needs)."""
    common = ["--bundle_root", str(trained), "--num_phantom_images", "16", "--output_dir", str(trained / "eval")]
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
        "--realism_repeats",
        "1",
        "--realism_steps",
        "3",
    )
    report = (trained / "eval" / "report.md").read_text()
    assert report.count("| **Average** |") == 4 and "independent phantom (seed 1, 16 mammograms)" in report
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
    assert "## Verdict, lesion_type: architectural_distortion, asymmetry" in text
    assert "## Verdict, abnormal_vs_normal: architectural_distortion, asymmetry" in text
    assert "one generator: the verdict is about this generator" in text


def test_realism_judges_the_model_or_every_checkpoint_of_the_training(trained, tmp_path):
    """The realism run of docs/evaluation.md: the exported model by default, every checkpoint of a folder on request
    (not ``@ckpt_dir``: an overlay's ``--output_dir`` moves that)."""
    common = ["--bundle_root", str(trained), "--num_phantom_images", "16", "--realism_steps", "3"]
    config = ["--config_file", overlay("realism.json")]
    bundle("run", "realism", *config, *common, "--output_dir", str(tmp_path / "model"), "--realism_repeats", "1")
    text = (tmp_path / "model" / "realism.md").read_text()
    assert "independent phantom (seed 1, 16 mammograms)" in text and "| real vs real (floor) |" in text
    assert text.count(f"{trained / 'models' / 'model.pt'}") == 3  # summary, spectral and border tables
    folder = trained / "runs" / "train" / "checkpoints"
    checkpoints = sorted(folder.glob("checkpoint_*.pt"))
    bundle("run", "realism", *config, *common, "--output_dir", str(tmp_path / "all"), "--realism_checkpoints", folder)
    rows = list(csv.DictReader(open(tmp_path / "all" / "realism_c2st.csv")))
    insertions = {"normal tissue, no lesion", "transplant", "copy_paste_seamless"}  # realism_insertions' default
    names = {"real vs real (floor)", *insertions, *map(str, checkpoints)}
    assert {r["candidates"].split(" sha256")[0] for r in rows} == names
    assert len(rows) == (4 + len(checkpoints)) * 3 * 5  # 3 repeats; pooled and 4 classes


def test_generator_seeds_train_more_generators_of_the_recipe_and_pool_the_verdict(trained, tmp_path):
    """--generator_seeds 2 trains a second generator with train.json's training and the run's settings (here the
    fixture's), with generator_seed 1, and trains each synthetic arm with both."""
    recipe = ["--max_epochs", "2", "--augment", "rot90", "--width", "0.0625", "--batch_size", "8"]
    common = ["--bundle_root", str(trained), "--num_phantom_images", "16", "--output_dir", str(tmp_path / "eval")]
    small = ["--folds", "2", "--steps", "2", "--repeats", "1", "--arms", "['classic','synthetic']"]
    config = overlay("downstream.json")
    bundle("run", "downstream", "--config_file", config, *common, *recipe, *small, "--generator_seeds", "2")
    second = trained / "models" / "generator_seed1" / "model.pt"
    assert second.is_file() and second.read_bytes() != (trained / "models" / "model.pt").read_bytes()
    rows = list(csv.DictReader(open(tmp_path / "eval" / "downstream_folds.csv")))
    assert sorted({(r["arm"], r["generator"]) for r in rows}) == [
        ("classic", "0"),
        ("synthetic", "0"),
        ("synthetic", "1"),
    ]
    assert len(rows) == 2 * 2 * 3  # both tasks, 2 folds; classic once, synthetic with each generator
    text = (tmp_path / "eval" / "downstream.md").read_text()
    assert "2 generators of one recipe" in text and "not measured (one generator)" not in text
    stamp = second.stat().st_mtime_ns  # a second run reuses the generator
    bundle("run", "downstream", "--config_file", config, *common, *recipe, *small, "--generator_seeds", "2")
    assert second.stat().st_mtime_ns == stamp


def test_tuning_writes_the_chosen_baseline_settings(trained, tmp_path):
    bundle(
        "run",
        "tune",
        "--config_file",
        overlay("downstream.json"),
        "--bundle_root",
        str(trained),
        "--num_phantom_images",
        "16",
        "--output_dir",
        str(tmp_path),
        "--folds",
        "2",
        "--tuning_steps",
        "[2,4]",
        "--tuning_oversample_powers",
        "[1.0]",
    )
    chosen = json.loads((tmp_path / "tuning.md").read_text().split("```json\n")[1].split("```")[0])
    assert set(chosen) == {"steps", "copy_paste_options", "oversample_power"} and chosen["steps"] in (2, 4)
    assert len((tmp_path / "tuning.csv").read_text().splitlines()) == 1 + 2 * (2 + 19 + 1)  # 19 copy-paste options


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


@pytest.mark.parametrize("name", ["evaluate.json", "downstream.json"])
def test_an_overlay_run_alone_fails_naming_the_missing_key_and_the_command(name, tmp_path):
    """``python -m monai.bundle run --config_file bundle/configs/evaluate.json`` (without train.json): the error
    names the file, a missing key and the command that works, not MONAI's bare "`@model_path` is not defined"."""
    relative = f"bundle/configs/{name}"
    result = bundle("run", "--config_file", relative, "--bundle_root", str(tmp_path), check=False)
    assert result.returncode != 0
    assert f"{relative} is an overlay on train.json: " in result.stderr and "`model_path`" in result.stderr
    assert f"--config_file \"['bundle/configs/train.json','{relative}']\"" in result.stderr
    assert "is not defined in the config content" not in result.stderr


def test_inference_json_alone_writes_rois(tmp_path):
    """As in MONAI's model zoo, ``python -m monai.bundle run --config_file bundle/configs/inference.json`` runs
    alone on a bundle with ``models/model.pt``."""
    generator = ROIGenerator(num_classes=4, width=1 / 16).eval()
    (tmp_path / "models").mkdir()
    torch.save(generator.state_dict(), tmp_path / "models" / "model.pt")
    relative = "bundle/configs/inference.json"
    bundle("run", "--config_file", relative, "--bundle_root", str(tmp_path), "--num_per_class", "2")
    out = tmp_path / "runs" / "inference"
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(manifest["items"]) == 8
    assert sorted({i["class_name"] for i in manifest["items"]}) == sorted(
        json.loads((CONFIGS / "train.json").read_text())["class_names"]
    )
    written = np.asarray(nib.load(out / "mass" / "mass_00001.nii.gz").dataobj)
    np.testing.assert_allclose(written, synthesize(generator, 3, [1], seed=0)[0, 0].numpy(), atol=1e-5)
    assert (out / "mass" / "mass_00001.png").is_file()


def test_a_width_one_model_generates_through_inference_json_alone(tmp_path):
    """inference.json loads the generator from its weights: a paper-width model.pt needs no paper.json, and MONAI's
    default run id (``run``) generates; here in the overlay form, on train.json, which keeps working."""
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
