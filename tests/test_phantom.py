"""Tests of the phantom MIAS generator (:mod:`monai_roigan.data.phantom`)."""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from monai_roigan.data import phantom
from monai_roigan.data.phantom import (
    PhantomLesion,
    format_info_row,
    main,
    make_phantom_dataset,
    render_phantom_mammogram,
)

ROW = re.compile(
    r"^(mdb\d{3}) ([FGD]) (CALC|CIRC|SPIC|MISC|ARCH|ASYM) ([BM]) (\d+) (\d+) (\d+)$|^(mdb\d{3}) ([FGD]) NORM $"
)


def _table(root: Path) -> list[str]:
    """The table rows of an Info.txt (lines starting with ``mdb``), checked against the MIAS row format."""
    text = (root / "Info.txt").read_text()
    rows = [line for line in text.splitlines() if line.startswith("mdb")]
    assert rows, "no table rows"
    for line in rows:
        assert ROW.match(line), f"not a MIAS row: {line!r}"
    return rows


def _lesions_from_rows(rows: list[str], name: str, size: int) -> list[tuple[str, str, int, int, int]]:
    """(code, severity, row, col, radius) in top-left coordinates for the rows of image ``name``."""
    out = []
    for line in rows:
        tokens = line.split()
        if tokens[0] == name and tokens[2] != "NORM":
            x, y, radius = (int(v) for v in tokens[4:7])
            out.append((tokens[2], tokens[3], size - y, x, radius))
    return out


def _disk_mean(img: np.ndarray, row: int, col: int, r_in: float, r_out: float) -> float:
    rr, cc = np.ogrid[: img.shape[0], : img.shape[1]]
    dist = np.hypot(rr - row, cc - col)
    return float(img[(dist >= r_in) & (dist <= r_out)].mean())


@pytest.fixture(scope="module")
def full_size(tmp_path_factory) -> Path:
    """A 3-image phantom folder at the MIAS size (1024), written once for the module."""
    return make_phantom_dataset(tmp_path_factory.mktemp("phantom1024"), num_images=3, seed=0)


def test_files_are_p5_1024_uint8(full_size: Path) -> None:
    names = sorted(p.name for p in full_size.glob("mdb*.pgm"))
    assert names == ["mdb001.pgm", "mdb002.pgm", "mdb003.pgm"]
    for name in names:
        path = full_size / name
        assert path.read_bytes()[:2] == b"P5"
        with Image.open(path) as im:
            assert im.mode == "L" and im.size == (1024, 1024)
            arr = np.asarray(im)
        assert arr.dtype == np.uint8 and arr.shape == (1024, 1024)
        assert arr.min() == 0 and arr.max() > 200  # black padding/background and bright tissue


def test_info_txt_layout(full_size: Path) -> None:
    text = (full_size / "Info.txt").read_text()
    lines = text.splitlines()
    assert "NOT patient data" in text and "bottom-left corner" in text
    separators = [i for i, line in enumerate(lines) if re.fullmatch(r"=+", line) and len(line) > 5]
    first_row = next(i for i, line in enumerate(lines) if line.startswith("mdb"))
    last_row = max(i for i, line in enumerate(lines) if line.startswith("mdb"))
    assert separators[-2] < first_row and separators[-1] > last_row  # table between separator lines
    rows = _table(full_size)
    assert {r.split()[0] for r in rows} == {"mdb001", "mdb002", "mdb003"}


def test_info_rows_match_rendered_lesions(full_size: Path) -> None:
    """Re-rendering an image reproduces the file byte for byte and the rows' bottom-left coordinates."""
    rows = _table(full_size)
    name = next(r.split()[0] for r in rows if "NORM" not in r)
    row = next(r for r in rows if r.startswith(name))
    tissue, code = row.split()[1:3]
    expected = _lesions_from_rows(rows, name, 1024)
    img, lesions = render_phantom_mammogram(int(name[3:]), code, tissue, seed=0, num_lesions=len(expected))
    assert [(les.code, les.severity, les.row, les.col, les.radius) for les in lesions] == expected
    for lesion in lesions:
        assert f"{name} {tissue} {code} {lesion.severity} {lesion.col} {1024 - lesion.row} {lesion.radius}" in rows
    with Image.open(full_size / f"{name}.pgm") as im:
        assert np.array_equal(np.asarray(im), img)


def test_anatomy_and_lesions_in_breast(full_size: Path) -> None:
    rows = _table(full_size)
    for k in range(1, 4):
        name = f"mdb00{k}"
        with Image.open(full_size / f"{name}.pgm") as im:
            img = np.asarray(im).astype(float)
        left, right = img[:, :512].mean(), img[:, 512:].mean()  # the film may be padded, as in MIAS
        if k % 2 == 0:  # left breast: chest wall on the left
            assert left > right + 25, (name, left, right)
            far = [img[-32:, -32:], img[:32, -32:]]
        else:
            assert right > left + 25, (name, left, right)
            far = [img[-32:, :32], img[:32, :32]]
        for corner in far:
            assert np.median(corner) < 30
        for _, _, r, c, radius in _lesions_from_rows(rows, name, 1024):
            assert img[r, c] > 30 and 0 < radius < 100


@pytest.mark.parametrize("refnum,tissue", [(12, "F"), (13, "G"), (14, "D")])
def test_circ_is_brighter_than_surroundings(refnum: int, tissue: str) -> None:
    img, lesions = render_phantom_mammogram(refnum, "CIRC", tissue, seed=5, size=512)
    (lesion,) = lesions
    assert lesion.code == "CIRC" and lesion.severity in ("B", "M")
    inner = _disk_mean(img, lesion.row, lesion.col, 0, lesion.radius / 2)
    ring = _disk_mean(img, lesion.row, lesion.col, 1.5 * lesion.radius, 2 * lesion.radius)
    assert inner > ring + 5, (inner, ring)


@pytest.mark.parametrize("refnum,tissue", [(20, "F"), (21, "D")])
def test_calcifications_are_brightest(refnum: int, tissue: str) -> None:
    img, lesions = render_phantom_mammogram(refnum, "CALC", tissue, seed=1, size=512)
    (lesion,) = lesions
    rr, cc = np.ogrid[:512, :512]
    cluster = img[np.hypot(rr - lesion.row, cc - lesion.col) <= lesion.radius]
    assert cluster.max() >= np.percentile(img, 99.9)
    assert cluster.max() >= 240


def test_normal_has_no_lesion_and_two_lesions_are_separate() -> None:
    img, lesions = render_phantom_mammogram(2, "NORM", "G", size=256, num_lesions=2)
    assert lesions == [] and img.shape == (256, 256) and img.dtype == np.uint8
    _, (a, b) = render_phantom_mammogram(4, "MISC", "F", size=256, num_lesions=2)
    assert np.hypot(a.row - b.row, a.col - b.col) >= a.radius + b.radius


def test_render_is_deterministic_and_anatomy_independent_of_code() -> None:
    a, la = render_phantom_mammogram(7, "SPIC", "G", seed=3, size=256)
    b, lb = render_phantom_mammogram(7, "SPIC", "G", seed=3, size=256)
    assert np.array_equal(a, b) and la == lb
    c, _ = render_phantom_mammogram(7, "SPIC", "G", seed=4, size=256)
    assert not np.array_equal(a, c)
    normal, _ = render_phantom_mammogram(7, "NORM", "G", seed=3, size=256)
    (lesion,) = la
    rr, cc = np.ogrid[:256, :256]
    outside = np.hypot(rr - lesion.row, cc - lesion.col) > 1.5 * (lesion.radius + 4) + 1
    assert np.array_equal(a[outside], normal[outside])  # lesion only changes its own neighbourhood


def test_dataset_reproducible_and_prefix_stable(tmp_path: Path) -> None:
    one = make_phantom_dataset(tmp_path / "a", num_images=3, seed=11, size=128)
    two = make_phantom_dataset(tmp_path / "b", num_images=3, seed=11, size=128)
    other = make_phantom_dataset(tmp_path / "c", num_images=3, seed=12, size=128)
    longer = make_phantom_dataset(tmp_path / "d", num_images=6, seed=11, size=128)
    assert (one / "Info.txt").read_bytes() == (two / "Info.txt").read_bytes()
    for k in range(1, 4):
        name = f"mdb00{k}.pgm"
        assert (one / name).read_bytes() == (two / name).read_bytes()
        assert (one / name).read_bytes() == (longer / name).read_bytes()
    assert any((one / f"mdb00{k}.pgm").read_bytes() != (other / f"mdb00{k}.pgm").read_bytes() for k in range(1, 4))
    rows_one, rows_longer = _table(one), _table(longer)
    assert rows_longer[: len(rows_one)] == rows_one


def test_default_class_mix_is_balanced(tmp_path: Path) -> None:
    root = make_phantom_dataset(tmp_path, num_images=40, seed=0, size=64)
    codes = {}
    for line in _table(root):
        codes[line.split()[0]] = line.split()[2]
    counts = Counter(codes.values())
    assert len(codes) == 40
    for code in ("ARCH", "ASYM", "CALC", "NORM"):
        assert counts[code] == 8
    assert counts["CIRC"] + counts["SPIC"] + counts["MISC"] == 8
    assert all(counts[c] >= 2 for c in ("CIRC", "SPIC", "MISC"))


def test_class_weights(tmp_path: Path) -> None:
    root = make_phantom_dataset(tmp_path, num_images=10, seed=0, size=64, class_weights={"CALC": 1.0})
    assert {line.split()[2] for line in _table(root)} == {"CALC"}
    with pytest.raises(ValueError, match="unknown MIAS codes"):
        make_phantom_dataset(tmp_path / "x", num_images=2, size=64, class_weights={"MASS": 1.0})
    with pytest.raises(ValueError):
        render_phantom_mammogram(1, "MASS", "G", size=64)


def test_cache_and_file_exists(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_phantom_dataset(tmp_path, num_images=2, seed=0, size=64)
    params = json.loads((root / "phantom.json").read_text())
    assert params["num_images"] == 2 and params["seed"] == 0 and params["size"] == 64

    def fail(*args, **kwargs):
        raise AssertionError("a cached folder must not be re-rendered")

    monkeypatch.setattr(phantom.dataset, "render_phantom_mammogram", fail)  # the module that renders
    assert make_phantom_dataset(tmp_path, num_images=2, seed=0, size=64) == root  # cache hit
    with pytest.raises(FileExistsError, match="overwrite"):
        make_phantom_dataset(tmp_path, num_images=3, seed=0, size=64)
    monkeypatch.undo()
    make_phantom_dataset(tmp_path, num_images=1, seed=1, size=64, overwrite=True)
    assert sorted(p.name for p in root.glob("mdb*.pgm")) == ["mdb001.pgm"]
    assert json.loads((root / "phantom.json").read_text())["seed"] == 1


def test_foreign_info_txt_is_not_overwritten(tmp_path: Path) -> None:
    (tmp_path / "Info.txt").write_text("real MIAS table\nmdb001 G CIRC B 535 425 197\n")
    with pytest.raises(FileExistsError):
        make_phantom_dataset(tmp_path, num_images=1, size=64)
    assert (tmp_path / "Info.txt").read_text().startswith("real MIAS table")


def test_format_info_row() -> None:
    assert format_info_row("mdb001", "G", PhantomLesion("CIRC", "B", 599, 535, 197)) == "mdb001 G CIRC B 535 425 197"
    assert format_info_row("mdb003", "D", None) == "mdb003 D NORM "


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="monai_roigan")
    assert main([str(tmp_path / "out"), "--num-images", "3", "--seed", "2", "--size", "64"]) == 0
    assert capsys.readouterr().out == ""  # the summary is logged, not printed
    assert "3 phantom images" in caplog.text and "NORM" in caplog.text
    assert len(list((tmp_path / "out").glob("mdb*.pgm"))) == 3
    assert main([str(tmp_path / "out"), "--num-images", "4", "--size", "64"]) == 2
