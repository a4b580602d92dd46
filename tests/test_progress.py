"""Progress and logging of every long step: the helper, then each step on a tiny input (log lines at INFO, nothing
printed to stdout)."""

from __future__ import annotations

import io
import logging
import re
import subprocess
import sys

import numpy as np
import pytest
import torch

from monai_roigan.utils.progress import progress
from tests.conftest import REPO, write_dicom

CLASSES = ["architectural_distortion", "asymmetry", "calcification", "mass"]


@pytest.fixture
def info_logs(caplog):
    """caplog with the package's loggers at INFO; ``info_logs(name)`` gives the messages of ``monai_roigan.<name>``."""
    caplog.set_level(logging.INFO, logger="monai_roigan")

    def messages(name: str) -> list[str]:
        return [
            r.getMessage() for r in caplog.records if r.name == f"monai_roigan.{name}" and r.levelno == logging.INFO
        ]

    return messages


def _progress_lines(messages: list[str], desc: str) -> list[str]:
    return [m for m in messages if m.startswith(desc)]


def test_progress_logs_about_every_tenth_and_the_end(info_logs, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stderr", io.StringIO())  # not a terminal
    log = logging.getLogger("monai_roigan.test")
    assert list(progress(range(20), "counting", logger=log, unit="numbers")) == list(range(20))
    lines = info_logs("test")
    assert lines[0] == "counting: 0/20 numbers"
    assert [re.match(r"counting: (\d+)/20 numbers \((\d+)%\)", m).groups() for m in lines[1:-1]] == [
        (str(2 * k), str(10 * k)) for k in range(1, 10)
    ]
    assert re.fullmatch(r"counting: done, 20 numbers in [\d.]+ s", lines[-1])
    assert capsys.readouterr().out == "" and sys.stderr.getvalue() == ""


def test_progress_without_total_and_when_quiet(info_logs, caplog, monkeypatch):
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    log = logging.getLogger("monai_roigan.test")
    assert list(progress((i for i in range(3)), "stream", logger=log, log_interval_s=0.0)) == [0, 1, 2]
    lines = info_logs("test")  # no total: a line per log_interval_s (here every item)
    assert lines[0] == "stream: 0/? it" and len(lines) == 5
    assert [re.match(r"stream: (\d+) it, [\d.]+ s$", m).group(1) for m in lines[1:4]] == ["1", "2", "3"]
    assert lines[-1].startswith("stream: done, 3 it")
    caplog.clear()
    caplog.set_level(logging.WARNING, logger="monai_roigan")  # a quiet logger: no lines, no bar
    assert list(progress(range(5), "quiet", logger=log)) == list(range(5)) and not caplog.records


def test_progress_draws_a_bar_on_a_terminal(info_logs, monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr(sys, "stderr", Terminal())
    log = logging.getLogger("monai_roigan.test")
    assert list(progress(range(7), "drawing", logger=log, unit="cells")) == list(range(7))
    assert "drawing" in sys.stderr.getvalue() and "7/7" in sys.stderr.getvalue()  # the tqdm bar
    assert len(info_logs("test")) == 1 and info_logs("test")[0].startswith("drawing: done, 7 cells")


def test_phantom_generation_logs_progress(tmp_path, info_logs, capsys):
    from monai_roigan.data.phantom import make_phantom_dataset

    make_phantom_dataset(tmp_path / "ph", num_images=3, size=64)
    lines = _progress_lines(info_logs("phantom"), "phantom images into")
    assert [line.split(": ")[1].split(" (")[0] for line in lines[:3]] == ["0/3 images", "1/3 images", "2/3 images"]
    assert "done, 3 images" in lines[-1] and str(tmp_path / "ph") in lines[-1]
    make_phantom_dataset(tmp_path / "ph", num_images=3, size=64)
    assert "reused" in info_logs("phantom")[-1]
    assert capsys.readouterr().out == ""


def test_roi_preparation_logs_progress_and_summary(phantom_dir, tmp_path, info_logs, capsys):
    from monai_roigan.apps import prepare_roi_dataset
    from monai_roigan.data import mias_datalist

    entries = [e for e in mias_datalist(phantom_dir) if e["image"].endswith(("mdb001.pgm", "mdb002.pgm", "mdb003.pgm"))]
    prepare_roi_dataset(entries, tmp_path / "rois.npz", normal_per_image=1)
    lines = _progress_lines(info_logs("prepare"), "ROIs from mammograms")
    assert lines[0].endswith("0/3 mammograms") and "done, 3 mammograms" in lines[-1] and len(lines) == 4
    assert any(m.startswith("ROIs written to") for m in info_logs("prepare"))
    assert capsys.readouterr().out == ""


def test_training_data_logs_the_cache_it_builds_or_reuses(phantom_dir, tmp_path, info_logs, capsys):
    from monai_roigan.apps import training_rois
    from monai_roigan.data import mias_datalist

    path = training_rois(tmp_path, dataset_dir=phantom_dir, dataset="mias", normal_per_image=0)
    assert any(m.startswith(f"training ROIs: building the cache {path}") for m in info_logs("training_data"))
    lesion_images = {e["image"] for e in mias_datalist(phantom_dir, include_normal=False)}
    assert f"done, {len(lesion_images)} mammograms" in _progress_lines(info_logs("prepare"), "ROIs from mammograms")[-1]
    assert training_rois(tmp_path, dataset_dir=phantom_dir, dataset="mias", normal_per_image=0) == path
    assert info_logs("training_data")[-1] == f"training ROIs: reusing the cache {path}"
    assert capsys.readouterr().out == ""


def test_dicom_crawl_logs_progress(tmp_path, info_logs, capsys):
    from monai_roigan.data.dicom_folder import main

    pixels = np.arange(16 * 16, dtype=np.uint16).reshape(16, 16)
    (tmp_path / "export").mkdir()
    for k in range(4):
        write_dicom(tmp_path / "export" / f"IM{k}", pixels)
    (tmp_path / "export" / "notes.txt").write_text("not dicom")
    assert main([str(tmp_path / "export"), "--output", str(tmp_path / "d.json")]) == 0
    lines = _progress_lines(info_logs("dicom"), "DICOM headers under")
    assert lines[0].endswith("0/5 files") and "done, 5 files" in lines[-1]
    assert any("4 mammograms kept, 1 files skipped" in m for m in info_logs("dicom"))
    assert info_logs("dicom")[-1].startswith(f"{tmp_path / 'd.json'}: 4 entries, 1 skipped")
    assert capsys.readouterr().out == ""


def _toy_rois(seed: int, per_class: int = 8, size: int = 64):
    """Smooth random ROIs in [-1, 1], one class brighter than the next, two ROIs per mammogram."""
    from monai_roigan.evaluation import ROISet

    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(len(CLASSES)), per_class)
    noise = torch.nn.functional.avg_pool2d(torch.as_tensor(rng.normal(size=(len(labels), 1, size, size))), 5, 1, 2)
    images = (0.5 * noise.numpy() / noise.numpy().std() + 0.2 * labels[:, None, None, None] - 0.3).clip(-1, 1)
    groups = np.array([f"s{seed}c{label}m{i // 2}" for label in range(len(CLASSES)) for i in range(per_class)])
    return ROISet(images.astype(np.float32), labels, groups)


@pytest.fixture(scope="module")
def toy_evaluation():
    from monai_roigan.networks.nets import ROIGenerator

    torch.manual_seed(0)
    return ROIGenerator(latent_dim=16, num_classes=len(CLASSES), width=1 / 64).eval(), _toy_rois(0), _toy_rois(1)


@pytest.mark.filterwarnings("ignore:Matrix is singular")  # FID of a handful of ROIs
def test_evaluation_logs_its_steps_and_what_it_wrote(toy_evaluation, tmp_path, info_logs, capsys):
    from monai_roigan.evaluation import EvaluationROIs, evaluate_generator

    generator, train, held = toy_evaluation
    report = evaluate_generator(
        generator,
        EvaluationROIs(train, held),
        tmp_path / "eval",
        CLASSES,
        num_per_class=4,
        table_images=2,
        classifier_epochs=1,
        gs_repeats=1,
        realism_repeats=1,
        realism_steps=2,
    )
    lines = info_logs("evaluation")
    assert [m.split(":")[0] for m in lines if m.startswith("evaluation step")] == [
        f"evaluation step {k}/8" for k in range(1, 9)
    ]
    for desc in ("synthetic ROIs", "per-image metrics", "set-level metrics", "report sections and figures"):
        assert _progress_lines(lines, desc)[0].startswith(f"{desc}: 0/") and "done" in _progress_lines(lines, desc)[-1]
    written = next(m for m in lines if m.startswith("evaluation report written to"))
    assert str(tmp_path / "eval") in written and "report.md" in written and "per_image.csv" in written
    assert lines[-1].startswith("evaluation: done") and lines[-1].endswith(f"report {report}")
    assert capsys.readouterr().out == ""


def test_downstream_logs_progress_and_what_it_wrote(toy_evaluation, tmp_path, info_logs, capsys):
    from monai_roigan.evaluation import EvaluationROIs, run_downstream

    generator, train, held = toy_evaluation
    run_downstream(
        generator,
        EvaluationROIs(train, held),
        tmp_path / "down",
        CLASSES,
        k=2,
        steps=2,
        batch_size=8,
        arms=["real", "synthetic"],
    )
    lines = info_logs("downstream")
    progress_lines = _progress_lines(lines, "downstream classifiers")
    assert (
        progress_lines[0] == "downstream classifiers: 0/4 classifiers" and "done, 4 classifiers" in progress_lines[-1]
    )
    assert len([m for m in lines if m.startswith("repeat 1/1, fold")]) == 4  # one score line per classifier
    assert lines[-1].startswith("downstream: wrote downstream.md") and lines[-1].endswith(str(tmp_path / "down"))
    assert capsys.readouterr().out == ""


def test_inference_logs_progress_and_what_it_wrote(tmp_path, info_logs, capsys):
    from monai_roigan.apps import generate_rois
    from monai_roigan.networks import PRESETS, ROIGenerator

    network = ROIGenerator(num_classes=4, width=PRESETS["tiny"])
    generate_rois(network, CLASSES, 3, tmp_path, formats=["png"], batch_size=2)
    lines = info_logs("generation")
    assert _progress_lines(lines, "synthetic ROIs")[0] == "synthetic ROIs: 0/8 batches"
    assert "done, 8 batches" in _progress_lines(lines, "synthetic ROIs")[-1]
    assert lines[-1] == (
        f"inference: wrote 12 synthetic ROIs (png) in {tmp_path}, one folder per class, listed in "
        f"{tmp_path / 'manifest.json'}"
    )
    assert capsys.readouterr().out == ""


def test_library_code_does_not_print():
    """``print`` only in the docs' scripts and benchmarks, never in the package: it logs."""
    found = [
        f"{path.relative_to(REPO)}:{number}"
        for path in sorted((REPO / "monai_roigan").rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"\bprint\(", line)
    ]
    assert found == []


def test_bundle_logging_conf_passes_the_package_lines_at_info(tmp_path):
    """The bundle's ``logging.conf`` (``monai.bundle run`` applies it) shows the package's INFO lines, also for a
    logger that existed before the file was applied."""
    code = (
        "import logging, logging.config; early = logging.getLogger('monai_roigan.evaluation'); "
        f"logging.config.fileConfig({str(REPO / 'bundle' / 'configs' / 'logging.conf')!r}); "
        "early.info('report written'); logging.getLogger('monai_roigan.prepare').debug('hidden')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "monai_roigan.evaluation - INFO - report written" in out and "hidden" not in out
