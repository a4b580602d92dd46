"""Torch's thread count set for a block and restored (``utils.torch_threads``), and the ROI bank's warm-up, which
prepares the generator's kernels with one thread and with the caller's count, then leaves the caller's count."""

from __future__ import annotations

import pytest
import torch

import monai_roigan.networks.pool as pool_module
from monai_roigan.networks import ROIBank, ROIGenerator
from monai_roigan.networks.source import GeneratorSource
from monai_roigan.utils import torch_threads


@pytest.fixture
def two_threads():
    """The test process at two torch threads, restored afterwards."""
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(previous)


def test_torch_threads_sets_the_count_inside_and_restores_it(two_threads):
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2


def test_torch_threads_restores_the_count_when_the_block_raises(two_threads):
    with pytest.raises(KeyError), torch_threads(1):
        raise KeyError("inside")
    assert torch.get_num_threads() == 2


def test_torch_threads_rejects_a_count_below_one(two_threads):
    with pytest.raises(ValueError, match="at least 1, got 0"), torch_threads(0):
        pass
    assert torch.get_num_threads() == 2


def test_bank_warm_up_runs_each_refill_size_at_one_thread_and_the_callers(two_threads, monkeypatch):
    seen: list[tuple[int, int]] = []

    def record(network, latent, labels):
        seen.append((torch.get_num_threads(), latent.shape[0]))
        return torch.zeros(latent.shape[0], 1, 64, 64)

    monkeypatch.setattr(pool_module, "run_generator", record)
    source = GeneratorSource(ROIGenerator(num_classes=4, width=0.0625), 4)
    bank = ROIBank(source, bank_size=16)  # fresh mode: warms up when built
    assert seen == [(1, 4), (1, 8), (1, 16), (2, 4), (2, 8), (2, 16)]
    assert bank.refill_sizes() == [4, 8, 16]
    assert torch.get_num_threads() == 2
