"""A training process killed with SIGKILL resumes from its last complete checkpoint (real subprocesses).

Two faults: a kill at a random moment of an epoch, and a kill in the middle of a checkpoint write (injected by
``tests/kill_during_checkpoint_write.py``). After the second, the resumed run must end bit-identical to a run
that was never interrupted: networks, optimizers, EMA, RNG states and the iteration all come back.
"""

import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from monai_roigan.handlers import latest_checkpoint
from tests.conftest import REPO

CONFIG = str(REPO / "bundle" / "configs" / "train.json")
TINY = [
    "--num_phantom_images",
    "10",
    "--augment",
    "rot90",
    "--width",
    "0.0625",
    "--d_width",
    "0.0625",
    "--save_interval",
    "3",
    "--quality_interval",
    "0",
    "--quality_classifier_epochs",
    "1",
]


def bundle_command(root, *extra):
    return [
        sys.executable,
        "-m",
        "monai.bundle",
        "run",
        "training",
        "--config_file",
        CONFIG,
        "--bundle_root",
        str(root),
        *TINY,
        *extra,
    ]


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_sigkill_mid_training_then_resume(tmp_path):
    ckpt = tmp_path / "runs" / "train" / "checkpoints"
    proc = subprocess.Popen(
        bundle_command(tmp_path, "--max_epochs", "400"), cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.time() + 300
        while time.time() < deadline and not any(ckpt.glob("checkpoint_*.pt")):
            assert proc.poll() is None, "training ended before its first checkpoint"
            time.sleep(0.2)
        time.sleep(1.0)  # let it run on into the next iterations (and possibly into a checkpoint write)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    (ckpt / "tmpzq1x8u_f").write_bytes(b"\x80\x02partial")  # what a kill during a write can leave
    killed_at = latest_checkpoint(ckpt)
    saved = torch.load(killed_at, weights_only=True)
    iteration = saved["trainer"]["iteration"]
    assert killed_at.name == f"checkpoint_{iteration}.pt" and iteration % 3 == 0
    assert {"generator", "discriminator", "g_opt", "d_opt", "ema", "rng"} <= set(saved)

    epoch_length = saved["trainer"]["epoch_length"]
    target_epochs = iteration // epoch_length + 2
    resumed = subprocess.run(
        bundle_command(tmp_path, "--max_epochs", str(target_epochs), "--resume", "true"),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-2000:]
    assert f"resumed from {killed_at} at iteration {iteration}" in resumed.stdout + resumed.stderr
    final = latest_checkpoint(ckpt)
    assert torch.load(final, weights_only=True)["trainer"]["iteration"] == target_epochs * epoch_length
    assert (tmp_path / "models" / "model.pt").is_file()


def assert_same_state(a, b, where="checkpoint"):
    """Recursive equality of two loaded checkpoints: every tensor, number and string."""
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            assert_same_state(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same_state(x, y, f"{where}[{i}]")
    elif isinstance(a, torch.Tensor):
        assert torch.equal(a, b), where
    else:
        assert a == b, where


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_sigkill_during_checkpoint_write_then_resume_equals_uninterrupted(tmp_path):
    killed_root, reference_root = tmp_path / "killed", tmp_path / "reference"
    epochs = ["--max_epochs", "8"]  # the tiny phantom gives one iteration per epoch: checkpoints at 3, 6, 8
    fault = [
        sys.executable,
        "-m",
        "tests.kill_during_checkpoint_write",
        "2",
        "--",
        "python",
        *bundle_command(killed_root, *epochs)[1:],
    ]
    killed = subprocess.run(fault, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    ckpt = killed_root / "runs" / "train" / "checkpoints"
    partial = [p for p in ckpt.iterdir() if p.name.startswith("tmp")]
    assert len(partial) == 1 and partial[0].stat().st_size > 0  # the half-written checkpoint_6
    assert latest_checkpoint(ckpt) == ckpt / "checkpoint_3.pt"

    resumed = subprocess.run(
        bundle_command(killed_root, *epochs, "--resume", "true"), cwd=REPO, capture_output=True, text=True, timeout=600
    )
    log = resumed.stdout + resumed.stderr
    assert resumed.returncode == 0, log[-3000:]
    assert f"resumed from {ckpt / 'checkpoint_3.pt'} at iteration 3" in log
    assert not partial[0].exists() and "interrupted by a crash" in log
    reference = subprocess.run(
        bundle_command(reference_root, *epochs), cwd=REPO, capture_output=True, text=True, timeout=600
    )
    assert reference.returncode == 0, reference.stderr[-3000:]
    final = torch.load(ckpt / "checkpoint_8.pt", weights_only=True)
    expected = torch.load(reference_root / "runs" / "train" / "checkpoints" / "checkpoint_8.pt", weights_only=True)
    assert final["trainer"]["iteration"] == 8
    assert {"generator", "discriminator", "g_opt", "d_opt", "ema", "rng", "trainer"} <= set(final)
    assert_same_state(final, expected)
