"""A training process killed with SIGKILL resumes from its last complete checkpoint (real subprocesses)."""

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
TINY = ["--num_phantom_images", "10", "--augment", "rot90", "--width", "0.0625", "--d_width", "0.0625",
        "--save_interval", "3", "--quality_interval", "0", "--quality_classifier_epochs", "1"]  # fmt: skip


def bundle_command(root, *extra):
    return [sys.executable, "-m", "monai.bundle", "run", "training", "--config_file", CONFIG, "--bundle_root",
            str(root), *TINY, *extra]  # fmt: skip


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_sigkill_mid_training_then_resume(tmp_path):
    ckpt = tmp_path / "runs" / "train" / "checkpoints"
    proc = subprocess.Popen(bundle_command(tmp_path, "--max_epochs", "400"), cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
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
    (ckpt / "tmp_partial_write.pt").write_bytes(b"\x80\x02partial")  # what a kill during a write could leave
    killed_at = latest_checkpoint(ckpt)
    saved = torch.load(killed_at, weights_only=True)
    iteration = saved["trainer"]["iteration"]
    assert killed_at.name == f"checkpoint_{iteration}.pt" and iteration % 3 == 0
    assert {"generator", "discriminator", "g_opt", "d_opt", "ema", "rng"} <= set(saved)

    epoch_length = saved["trainer"]["epoch_length"]
    target_epochs = iteration // epoch_length + 2
    resumed = subprocess.run(bundle_command(tmp_path, "--max_epochs", str(target_epochs), "--resume", "true"),
                             cwd=REPO, capture_output=True, text=True, timeout=600)  # fmt: skip
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-2000:]
    assert f"resumed from {killed_at} at iteration {iteration}" in resumed.stdout + resumed.stderr
    final = latest_checkpoint(ckpt)
    assert torch.load(final, weights_only=True)["trainer"]["iteration"] == target_epochs * epoch_length
    assert (tmp_path / "models" / "model.pt").is_file()
