"""Data-parallel training and generation over ``torch.distributed`` (``torchrun``; gloo on CPU, nccl on GPU).

The trainer does not wrap its networks in ``DistributedDataParallel``: a GAN step calls the discriminator
twice before one backward pass and freezes its weights during the generator step, which DDP's gradient
hooks do not allow without ``find_unused_parameters`` and static-graph workarounds. Instead, after each
backward pass the trainer averages the gradients of the optimizer's parameters over all ranks
(:func:`average_gradients`, one bucketed all-reduce per dtype), and the networks start from rank 0's weights
(:func:`broadcast_modules`). Identical weights, identical averaged gradients and identical Adam states keep
every rank's networks identical; :func:`check_identical` verifies that.

Everything here is a no-op in a single process (world size 1), so the same code runs everywhere. Generic
helpers (sharding, rank-0-first, gathering objects) are in :mod:`monai_roigan.utils.distributed`.
"""

from __future__ import annotations

from collections.abc import Iterable

import ignite.distributed as idist
import torch
import torch.distributed as dist
from torch import nn
from torch._utils import _flatten_dense_tensors, _unflatten_dense_tensors

from monai_roigan.utils.distributed import is_distributed as _distributed

__all__ = ["average_gradients", "broadcast_modules", "check_identical"]


def average_gradients(parameters: Iterable[torch.Tensor]) -> None:
    """Replace each parameter's ``.grad`` by its mean over all ranks (parameters without a gradient are skipped).

    Every rank must pass the same parameters in the same order with the same set of gradients present, which
    holds because each rank runs the same code on its own data.
    """
    if not _distributed():
        return
    grads = [p.grad for p in parameters if p.grad is not None]
    world = dist.get_world_size()
    buckets: dict[tuple, list[torch.Tensor]] = {}
    for grad in grads:
        buckets.setdefault((grad.dtype, grad.device), []).append(grad)
    for bucket in buckets.values():
        flat = _flatten_dense_tensors(bucket)
        dist.all_reduce(flat, op=dist.ReduceOp.SUM)
        flat /= world
        for grad, averaged in zip(bucket, _unflatten_dense_tensors(flat, bucket)):
            grad.copy_(averaged)


def broadcast_modules(*modules: nn.Module, src: int = 0) -> None:
    """Copy every parameter and buffer of ``modules`` from rank ``src`` to all ranks."""
    if not _distributed():
        return
    for module in modules:
        for tensor in [*module.parameters(), *module.buffers()]:
            dist.broadcast(tensor.data, src=src)


def check_identical(module: nn.Module, what: str = "network") -> None:
    """Raise RuntimeError when ``module``'s parameters differ between ranks.

    Compares one float64 checksum per parameter tensor (sum and sum of squares), so differences in one tensor
    cannot cancel against another's.
    """
    if not _distributed():
        return
    with torch.no_grad():
        sums = [torch.stack([p.double().sum(), p.double().square().sum()]) for p in module.parameters()]
    local = torch.cat(sums).to(idist.device())
    gathered = idist.all_gather(local).reshape(idist.get_world_size(), -1)
    if not torch.all(gathered == gathered[0]):
        raise RuntimeError(f"{what} differs between ranks (parameter checksums disagree)")
