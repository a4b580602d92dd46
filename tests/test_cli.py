"""The three commands: ``--help`` documents every flag with its default, and bad invocations fail clearly."""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys

import pytest

from monai_roigan.apps.prepare import main as prepare_main
from monai_roigan.data import load_roi_cache


def test_prepare_mias_without_dataset_dir_is_a_usage_error(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        prepare_main(["--dataset", "mias"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: roigan-prepare-rois") and "error:" in err and "--dataset_dir" in err
    assert "FileNotFoundError" not in err and "Traceback" not in err
    assert not any(tmp_path.iterdir())  # nothing written


def test_prepare_without_arguments_writes_nothing_and_prints_usage(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        prepare_main([])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: roigan-prepare-rois") and re.search(r"error: .*--dataset", err)
    assert not any(tmp_path.iterdir())  # no phantom_mias, no rois.npz in the current folder


def _help_entries(text: str) -> dict[str, str]:
    """``{invocation: help text}`` of every argument an argparse ``--help`` lists (whitespace collapsed)."""
    entries: dict[str, str] = {}
    current = None
    for line in text.splitlines():
        if line and not line.startswith(" "):  # "usage:", a section title or the description
            current = None
            continue
        match = re.match(r"^  (\S.*?)(?:\s{2,}(.*))?$", line)
        if match and not line.startswith("   "):  # a new argument: two spaces, then its invocation
            current = match.group(1)
            entries[current] = match.group(2) or ""
        elif current is not None and line.strip():  # the help text goes on, indented deeper
            entries[current] += " " + line.strip()
    return {name: " ".join(help_text.split()) for name, help_text in entries.items()}


def _parsers():
    from monai_roigan.apps.prepare import build_parser as prepare_parser
    from monai_roigan.data.dicom_folder import build_parser as dicom_parser
    from monai_roigan.data.phantom.cli import build_parser as phantom_parser

    return {
        "roigan-prepare-rois": prepare_parser,
        "roigan-phantom": phantom_parser,
        "roigan-dicom-datalist": dicom_parser,
    }


@pytest.mark.parametrize("command", ["roigan-prepare-rois", "roigan-phantom", "roigan-dicom-datalist"])
def test_help_documents_every_option_and_its_default(command, capsys, monkeypatch):
    from monai_roigan.apps.prepare import main as prepare
    from monai_roigan.data.dicom_folder import main as dicom
    from monai_roigan.data.phantom import main as phantom

    monkeypatch.setenv("COLUMNS", "100")
    main = {"roigan-prepare-rois": prepare, "roigan-phantom": phantom, "roigan-dicom-datalist": dicom}[command]
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith(f"usage: {command}")
    entries = _help_entries(text)
    parser = _parsers()[command]()
    for action in parser._actions:
        flag = action.option_strings[0] if action.option_strings else action.dest
        entry = [help_text for name, help_text in entries.items() if re.match(rf"{re.escape(flag)}\b", name)]
        assert len(entry) == 1, f"{command}: {flag} not listed once in --help"
        words = re.findall(r"[A-Za-z]+", entry[0].split("(default:")[0])
        assert len(words) >= 3, f"{command}: {flag} has no help sentence: {entry[0]!r}"
        has_default = action.option_strings and action.default not in (None, argparse.SUPPRESS) and not action.required
        if has_default:
            shown = " ".join(action.default) if isinstance(action.default, list) else action.default
            assert f"(default: {shown})" in entry[0] or f"(default: {action.default})" in entry[0], (
                f"{command}: {flag} does not show its default {action.default!r}: {entry[0]!r}"
            )
        else:
            assert "(default: None)" not in entry[0]


def test_phantom_command_logs_progress_on_stderr_and_prints_nothing(tmp_path):
    """The installed command's logging set-up: progress and the summary on stderr, stdout empty."""
    run = subprocess.run(
        [sys.executable, "-m", "monai_roigan.data.phantom", str(tmp_path / "ph"), "--num_images", "2", "--size", "64"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert run.stdout == ""
    assert "INFO monai_roigan.phantom: phantom images into" in run.stderr and "done, 2 images" in run.stderr
    assert "2 phantom images in" in run.stderr


@pytest.mark.parametrize("dataset", ["mias", "cbis-ddsm"])
def test_prepare_names_the_missing_dataset_dir(dataset, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit):
        prepare_main(["--dataset", dataset, "--output", str(tmp_path / "rois.npz")])
    assert f"error: --dataset {dataset} needs --dataset_dir" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_prepare_annotations_table_images_beside_the_table(tmp_path, monkeypatch, phantom_dir):
    """Without --dataset_dir an annotation table's image paths are relative to the table's folder."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "export").mkdir()
    for name in ("mdb001.pgm", "mdb002.pgm"):
        shutil.copy(phantom_dir / name, tmp_path / "export" / name)
    table = tmp_path / "export" / "rois.csv"
    table.write_text("file,row,col,radius,class\nmdb001.pgm,500,500,20,mass\nmdb002.pgm,400,450,20,calcification\n")
    assert (
        prepare_main(
            [
                "--dataset",
                "annotations",
                "--csv",
                str(table),
                "--normal_per_image",
                "0",
                "--output",
                str(tmp_path / "rois.npz"),
            ]
        )
        == 0
    )
    assert len(load_roi_cache(tmp_path / "rois.npz")["labels"]) == 2
