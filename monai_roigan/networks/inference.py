"""A trained generator prepared for inference: the same images, computed faster.

:func:`inference_network` returns an eval-mode copy with three rewrites, each exact up to float32 rounding
(the tests check 1e-5 on [-1, 1] outputs):

1. **Batch norms folded.** In eval mode a batch norm is an affine map per channel, ``x * s + t`` with
   ``s = gamma / sqrt(var + eps)`` and ``t = beta - mean * s``. It is folded into the layer before it: a
   (transposed) convolution (PyTorch's ``fuse_conv_bn_eval``) or the generator's projection
   ``Linear -> Unflatten(C, 4, 4) -> BatchNorm2d`` (each channel's 16 output rows scaled and shifted).
2. **Sub-pixel tail.** A :class:`ROIGenerator`'s last stride-2 transposed convolution and its output
   convolution are rewritten at half resolution. An image of size 2N is held as its four pixel phases
   ``(y mod 2, x mod 2)``, an (4C, N, N) tensor; in that form the transposed convolution becomes an ordinary
   convolution with 4x the output channels, and the output convolution one from 4C to 4 channels, both with
   a (2r + 1)-tap kernel (r = 1 for the paper's 5x5 kernels); ``pixel_shuffle`` then interleaves the four
   output phases into the (1, 2N, 2N) image. The ReLU between them is elementwise, so it commutes with the
   rearrangement. Some taps of the rewritten kernels are zero (44% more multiply-adds in these two layers),
   but the convolutions now have 32 and 4 output channels instead of 8 and 1, which oneDNN vectorises.
3. **Channels-last memory** on the CPU.

``benchmarks/bench_generator.py`` (per ROI) and ``benchmarks/run_all.py`` (FLOP rate against a matmul) time it
against the plain network (docs/performance.md; the measured numbers are in docs/results.md). The copy is for
inference only: it has no batch norms left to train, and ``network`` is not changed.
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from .nets.roigan import ROIGenerator

__all__ = ["fold_batch_norms", "inference_network", "subpixel_tail"]


def _affine(bn: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """(scale, shift) per channel of an eval-mode batch norm."""
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    return scale, bn.bias - bn.running_mean * scale


def _fold_linear(linear: nn.Linear, bn: nn.BatchNorm2d) -> nn.Linear:
    """``Linear -> Unflatten(1, (C, H, W)) -> BatchNorm2d(C)`` as one Linear (the Unflatten stays after it)."""
    scale, shift = (v.repeat_interleave(linear.out_features // bn.num_features) for v in _affine(bn))
    fused = nn.Linear(linear.in_features, linear.out_features, device=linear.weight.device, dtype=linear.weight.dtype)
    bias = torch.zeros_like(scale) if linear.bias is None else linear.bias
    fused.weight = nn.Parameter(linear.weight * scale[:, None])
    fused.bias = nn.Parameter(bias * scale + shift)
    return fused


def _foldable(bn: nn.Module) -> bool:
    return isinstance(bn, nn.BatchNorm2d) and bn.track_running_stats and bn.affine


def _fold_sequential(layers: list[nn.Module]) -> list[nn.Module]:
    """The layers with every foldable batch norm merged into the layer before it."""
    out: list[nn.Module] = []
    for layer in layers:
        before = out[-1] if out else None
        if _foldable(layer) and isinstance(before, (nn.Conv2d, nn.ConvTranspose2d)):
            out[-1] = fuse_conv_bn_eval(before, layer, transpose=isinstance(before, nn.ConvTranspose2d))
        elif (
            _foldable(layer)
            and isinstance(before, nn.Unflatten)
            and len(out) > 1
            and isinstance(out[-2], nn.Linear)
            and out[-2].out_features % layer.num_features == 0
        ):
            out[-2] = _fold_linear(out[-2], layer)
        else:
            out.append(layer)
    return out


@torch.no_grad()
def fold_batch_norms(network: nn.Module) -> nn.Module:
    """An eval-mode copy of ``network`` with the batch norms of its ``nn.Sequential`` blocks folded into the
    preceding convolution, transposed convolution or projection; ``network`` itself is left unchanged.
    Other modules (and batch norms with nothing to fold into) stay as they are."""
    folded = copy.deepcopy(network).eval()
    for module in list(folded.modules()):
        for name, child in module.named_children():
            if isinstance(child, nn.Sequential):
                setattr(module, name, nn.Sequential(*_fold_sequential(list(child))))
    return folded.requires_grad_(False)


def _phase_taps(kernel: int, padding: int, transposed: bool) -> list[tuple[int, int, int, int]]:
    """(output phase r, input phase s, offset e, kernel tap t) of one axis of a layer rewritten at half
    resolution: output pixel ``2m + r`` reads input phase ``s`` at ``m + e`` through tap ``t``.

    Transposed (stride 2, input at half resolution, one phase): ``out[2i - padding + t] += in[i] w[t]``.
    Ordinary (stride 1 on the full-resolution image): ``out[o] = sum_t in[o - padding + t] w[t]``.
    """
    taps = []
    for r in (0, 1):
        for t in range(kernel):
            if transposed and (r + padding - t) % 2 == 0:
                taps.append((r, 0, (r + padding - t) // 2, t))
            elif not transposed:
                q = r + t - padding
                taps.append((r, q % 2, q // 2, t))
    return taps


def _phase_conv(layer: nn.Conv2d | nn.ConvTranspose2d) -> nn.Conv2d:
    """``layer`` as a convolution from (phases of) its input to the four phases of its output, at half resolution.
    Channel ``4c + 2 ry + rx`` holds phase (ry, rx) of channel c, the order ``pixel_shuffle`` reads."""
    transposed = isinstance(layer, nn.ConvTranspose2d)
    weight = layer.weight.transpose(0, 1) if transposed else layer.weight  # (C_out, C_in, k, k)
    c_out, c_in, k, _ = weight.shape
    taps = _phase_taps(k, layer.padding[0], transposed)
    reach, phases = max(abs(e) for _, _, e, _ in taps), 1 if transposed else 2
    phased = weight.new_zeros(c_out, 2, 2, c_in, phases, phases, 2 * reach + 1, 2 * reach + 1)
    for ry, sy, ey, ty in taps:
        for rx, sx, ex, tx in taps:
            phased[:, ry, rx, :, sy, sx, ey + reach, ex + reach] = weight[:, :, ty, tx]
    conv = nn.Conv2d(
        c_in * phases**2, 4 * c_out, 2 * reach + 1, padding=reach, device=weight.device, dtype=weight.dtype
    )
    conv.weight = nn.Parameter(phased.reshape(conv.weight.shape))
    bias = torch.zeros(c_out, device=weight.device, dtype=weight.dtype) if layer.bias is None else layer.bias
    conv.bias = nn.Parameter(bias.repeat_interleave(4))
    return conv


def _plain(layer: nn.Module) -> bool:
    """A square, zero-padded, undilated, ungrouped convolution with integer padding."""
    return (
        layer.groups == 1
        and layer.dilation == (1, 1)
        and layer.padding_mode == "zeros"
        and not isinstance(layer.padding, str)
        and len(set(layer.padding)) == 1
        and layer.kernel_size[0] == layer.kernel_size[1]
    )


def _doubles(layer: nn.Module) -> bool:
    """A transposed convolution whose output is exactly twice its input size."""
    return (
        isinstance(layer, nn.ConvTranspose2d)
        and _plain(layer)
        and layer.stride == (2, 2)
        and layer.kernel_size[0] + layer.output_padding[0] - 2 * layer.padding[0] == 2
        and len(set(layer.output_padding)) == 1
    )


def _keeps_size(layer: nn.Module) -> bool:
    return (
        isinstance(layer, nn.Conv2d)
        and _plain(layer)
        and layer.stride == (1, 1)
        and layer.kernel_size[0] - 2 * layer.padding[0] == 1
    )


@torch.no_grad()
def subpixel_tail(generator: ROIGenerator) -> bool:
    """Rewrite (in place) a batch-norm-folded generator's last transposed convolution and its output convolution
    at half resolution (see the module docstring). Returns whether the generator had the expected shape
    (``... -> ConvTranspose2d(stride 2) -> ReLU`` then ``Conv2d(stride 1) -> Tanh``); if not, nothing changes."""
    ups, head = generator.upsample, generator.to_image
    if not (len(ups) >= 2 and _doubles(ups[-2]) and isinstance(ups[-1], nn.ReLU) and _keeps_size(head[0])):
        return False
    ups[-2] = _phase_conv(ups[-2])
    generator.to_image = nn.Sequential(_phase_conv(head[0]), nn.PixelShuffle(2), *list(head)[1:])
    return True


def inference_network(network: nn.Module) -> nn.Module:
    """An eval-mode copy of ``network`` for generation: :func:`fold_batch_norms`, :func:`subpixel_tail` on every
    :class:`ROIGenerator` inside it, and channels-last memory when it is on the CPU. Same outputs up to float32
    rounding; ``network`` is unchanged."""
    fast = fold_batch_norms(network)
    for module in list(fast.modules()):
        if isinstance(module, ROIGenerator):
            subpixel_tail(module)
    if next(fast.parameters()).device.type == "cpu":
        fast.to(memory_format=torch.channels_last)
    return fast
