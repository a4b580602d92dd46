"""The package's layers (docs/architecture.md): import-linter's contract holds, and breaks on a back-import."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import monai_roigan.data
from tests.conftest import REPO

LINT = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))


def lint(root: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` on the package under ``root`` with the repository's contract."""
    env = {"PYTHONPATH": str(root), "PATH": str(Path(sys.executable).parent)}
    return subprocess.run(
        [LINT, "--config", str(REPO / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_layers_contract_is_kept():
    result = lint(REPO)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Layers point down KEPT" in result.stdout


@pytest.mark.parametrize(
    "module, back_import",
    [
        ("data/pgm.py", "from monai_roigan.transforms import LoadMammogram"),
        ("engines/trainer.py", "from monai_roigan.handlers import GanCheckpointSaver"),
        ("networks/sampling.py", "import monai_roigan.evaluation.downstream"),
    ],
)
def test_a_back_import_breaks_the_contract(tmp_path, module, back_import):
    shutil.copytree(REPO / "monai_roigan", tmp_path / "monai_roigan", ignore=shutil.ignore_patterns("__pycache__"))
    path = tmp_path / "monai_roigan" / module
    path.write_text(path.read_text() + f"\n{back_import}  # a layer pointing up\n")
    result = lint(tmp_path)
    assert result.returncode != 0 and "Layers point down BROKEN" in result.stdout, result.stdout[-3000:]


def test_importing_transforms_loads_no_higher_layer():
    code = (
        "import sys, monai_roigan.transforms; "
        "print(sorted({m.split('.')[1] for m in sys.modules if m.startswith('monai_roigan.')}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['data', 'networks', 'transforms', 'utils']"


def test_data_has_no_lazy_loader():
    assert not hasattr(monai_roigan.data, "__getattr__")  # no PEP 562 loader patching an import loop
