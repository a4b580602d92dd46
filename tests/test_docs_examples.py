"""The Python code blocks of README.md and docs/*.md run, in order, one namespace per page.

They run in a scratch folder laid out as a user's would be: ``/data/all-mias`` (and ``all-mias``) is the test
phantom, ``mdb001.pgm`` one of its films, ``IM0001`` that film as DICOM, ``export/rois.csv`` an annotation table,
``cbis/`` the CBIS-DDSM case tables (no images), ``bundle/`` a bundle folder with a small generator, and
``context-bundle/`` one with a small context generator (``bundle/configs/context.json``). A
snippet that raises fails the test with the page and line of its block.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from monai_roigan.networks import PRESETS, ContextROIGenerator, ROIGenerator
from monai_roigan.transforms import LoadMammogram
from tests.conftest import REPO, write_dicom
from tests.test_cbis_ddsm import HEADER

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")), REPO / "bundle" / "docs" / "README.md"]
FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```", re.DOTALL | re.MULTILINE)


def python_blocks(text: str) -> list[tuple[int, str]]:
    """``(line number, code)`` of every ```python block of a Markdown text."""
    return [(text.count("\n", 0, m.start()) + 1, m.group(1)) for m in FENCE.finditer(text)]


def run_blocks(name: str, text: str, workspace: Path) -> None:
    """Run the page's blocks in one namespace, ``/data/`` pointing into ``workspace``."""
    namespace: dict = {"__name__": "__docs__"}
    for line, code in python_blocks(text):
        code = code.replace('"/data/', f'"{workspace}/data/')
        try:
            exec(compile(code, f"{name}:{line}", "exec"), namespace)
        except Exception as err:  # noqa: BLE001 - any failure of a snippet is the finding
            pytest.fail(f"{name}, code block at line {line}: {type(err).__name__}: {err}")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, phantom_dir) -> Path:
    root = tmp_path_factory.mktemp("user")
    shutil.copytree(phantom_dir, root / "data" / "all-mias")
    (root / "all-mias").symlink_to(root / "data" / "all-mias")
    shutil.copy(phantom_dir / "mdb001.pgm", root / "mdb001.pgm")
    film = (LoadMammogram()(str(phantom_dir / "mdb001.pgm"))[0].numpy() * 4095).round().astype(np.uint16)
    write_dicom(root / "IM0001", film, BitsStored=12, HighBit=11, PixelSpacing=[0.2, 0.2])
    (root / "export" / "case1").mkdir(parents=True)
    shutil.copy(root / "IM0001", root / "export" / "case1" / "IM0001")
    (root / "export" / "rois.csv").write_text("file,row,col,radius,class\ncase1/IM0001,599,535,40,mass\n")
    (root / "cbis").mkdir()
    for table in ("mass_case_description_train_set.csv", "calc_case_description_train_set.csv"):
        (root / "cbis" / table).write_text(HEADER)
    torch.manual_seed(0)
    (root / "bundle" / "models").mkdir(parents=True)
    (root / "bundle" / "configs").mkdir()
    torch.save(ROIGenerator(num_classes=4, width=PRESETS["tiny"]).state_dict(), root / "bundle" / "models" / "model.pt")
    (root / "bundle" / "configs" / "metadata.json").write_text(json.dumps({"version": "0.0.0"}))
    (root / "context-bundle" / "models").mkdir(parents=True)
    bank = torch.rand(8, 1, 64, 64) * 2 - 1
    context = ContextROIGenerator(num_classes=4, width=PRESETS["tiny"], context_bank=bank)
    torch.save(context.state_dict(), root / "context-bundle" / "models" / "model.pt")
    return root


def test_the_pages_hold_the_examples():
    """The collector finds the blocks (a broken parser would make the test below pass vacuously)."""
    counts = {page.relative_to(REPO).as_posix(): len(python_blocks(page.read_text())) for page in PAGES}
    assert counts["README.md"] >= 3 and sum(counts.values()) >= 12, counts


def test_a_broken_snippet_fails(workspace):
    with pytest.raises(pytest.fail.Exception, match=r"broken.md, code block at line 3: NameError"):
        run_blocks("broken.md", "text\n\n```python\nundefined_name\n```\n", workspace)


@pytest.mark.parametrize(
    "page", [p for p in PAGES if python_blocks(p.read_text())], ids=lambda p: p.relative_to(REPO).as_posix()
)
def test_code_blocks_run(page, workspace, monkeypatch):
    monkeypatch.chdir(workspace)
    run_blocks(page.relative_to(REPO).as_posix(), page.read_text(), workspace)
