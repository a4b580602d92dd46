"""Distributed training and sharded generation on torch.distributed, with 2 CPU processes on gloo."""

import json
import subprocess
import sys

import nibabel as nib
import numpy as np
import pydicom
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from monai_roigan.engines.distributed import average_gradients, check_identical
from monai_roigan.utils.distributed import gather_objects, shard_indices
from tests.conftest import REPO

CONFIGS = REPO / "bundle" / "configs"
TINY = [
    "--num_phantom_images",
    "10",
    "--augment",
    "rot90",
    "--width",
    "0.0625",
    "--d_width",
    "0.0625",
    "--quality_interval",
    "0",
    "--save_interval",
    "2",
    "--max_epochs",
    "4",
]


def _half_batch_gradients(rank, world, init_file, out_dir):
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.Tanh(), torch.nn.Linear(5, 1))
    x = torch.arange(48, dtype=torch.float32).reshape(8, 6) / 10
    model(x[rank * 4 : (rank + 1) * 4]).pow(2).mean().backward()
    average_gradients(model.parameters())
    check_identical(model)
    if rank == 1:
        with torch.no_grad():
            model[0].bias[0] += 1e-3
    try:
        check_identical(model)
        diverged = False
    except RuntimeError:
        diverged = True
    torch.save(
        {
            "grads": [p.grad for p in model.parameters()],
            "shard": shard_indices(range(7)),
            "gathered": gather_objects([rank]),
            "diverged": diverged,
        },
        f"{out_dir}/rank{rank}.pt",
    )
    dist.destroy_process_group()


def test_averaged_half_batch_gradients_equal_the_full_batch_gradient(tmp_path):
    mp.spawn(_half_batch_gradients, args=(2, tmp_path / "init", tmp_path), nprocs=2)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.Tanh(), torch.nn.Linear(5, 1))
    model(torch.arange(48, dtype=torch.float32).reshape(8, 6) / 10).pow(2).mean().backward()
    for rank in (0, 1):
        saved = torch.load(tmp_path / f"rank{rank}.pt", weights_only=True)
        for got, want in zip(saved["grads"], model.parameters()):
            torch.testing.assert_close(got, want.grad)
        assert saved["shard"] == [rank, rank + 2, rank + 4] + ([6] if rank == 0 else [])
        assert saved["gathered"] == [0, 1]
        assert saved["diverged"] is True  # both ranks see that rank 1's weights differ


def torchrun(*args, timeout=600):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", *args]
    result = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def trained_on_two_ranks(tmp_path_factory):
    root = tmp_path_factory.mktemp("ddp")
    configs = f"['{CONFIGS / 'train.json'}','{CONFIGS / 'multi_gpu_train.json'}']"
    torchrun("-m", "monai.bundle", "run", "training", "--config_file", configs, "--bundle_root", str(root), *TINY)
    return root


def test_two_process_training_writes_once_from_rank_zero(trained_on_two_ranks):
    root = trained_on_two_ranks
    run = root / "runs" / "train"
    assert len(list((run / "tensorboard").glob("events.out.tfevents.*"))) == 1
    assert sorted(p.name for p in (run / "checkpoints").glob("checkpoint_*.pt")) == [
        "checkpoint_2.pt",
        "checkpoint_4.pt",
    ]
    assert not list((run / "checkpoints").glob("tmp*"))
    assert (root / "models" / "model.pt").is_file() and (run / "samples" / "final.png").is_file()
    saved = torch.load(run / "checkpoints" / "checkpoint_4.pt", weights_only=True)
    assert saved["trainer"]["iteration"] == 4  # one iteration per epoch: each rank holds half the ROIs


def test_two_process_training_resumes(trained_on_two_ranks):
    configs = f"['{CONFIGS / 'train.json'}','{CONFIGS / 'multi_gpu_train.json'}']"
    result = torchrun(
        "-m",
        "monai.bundle",
        "run",
        "training",
        "--config_file",
        configs,
        "--bundle_root",
        str(trained_on_two_ranks),
        *TINY[:-1],
        "6",
        "--resume",
        "true",
    )
    assert "at iteration 4" in result.stdout + result.stderr
    saved = torch.load(trained_on_two_ranks / "runs" / "train" / "checkpoints" / "checkpoint_6.pt", weights_only=True)
    assert saved["trainer"]["iteration"] == 6


def test_sharded_generation_equals_a_single_process_run(trained_on_two_ranks, tmp_path):
    args = [
        "--bundle_root",
        str(trained_on_two_ranks),
        "--width",
        "0.0625",
        "--num_per_class",
        "5",
        "--seed",
        "3",
        "--output_format",
        "nifti,dicom",
    ]
    single, sharded = tmp_path / "single", tmp_path / "sharded"
    single_configs = f"['{CONFIGS / 'train.json'}','{CONFIGS / 'inference.json'}']"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "monai.bundle",
            "run",
            "inference",
            "--config_file",
            single_configs,
            "--output_dir",
            str(single),
            *args,
        ],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    configs = f"['{CONFIGS / 'train.json'}','{CONFIGS / 'inference.json'}','{CONFIGS / 'multi_gpu_inference.json'}']"
    torchrun("-m", "monai.bundle", "run", "inference", "--config_file", configs, "--output_dir", str(sharded), *args)
    names = sorted(p.relative_to(single).as_posix() for p in single.rglob("*.nii.gz"))
    assert len(names) == 20 and names == sorted(p.relative_to(sharded).as_posix() for p in sharded.rglob("*.nii.gz"))
    for name in names:  # equal up to float32 rounding: the ranks run other batch sizes and thread counts
        np.testing.assert_allclose(
            nib.load(single / name).get_fdata(), nib.load(sharded / name).get_fdata(), rtol=0, atol=1e-6
        )
    manifest = json.loads((sharded / "manifest.json").read_text())
    assert [(i["label"], i["index"]) for i in manifest["items"]] == [(c, k) for c in range(4) for k in range(5)]
    sets = [pydicom.dcmread(p) for p in sharded.rglob("*.dcm")]
    assert len(sets) == 20 and len({d.StudyInstanceUID for d in sets}) == 1
    assert len({d.SeriesInstanceUID for d in sets}) == 4 and len({d.SOPInstanceUID for d in sets}) == 20
