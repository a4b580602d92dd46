"""The inference copy of a generator (batch norms folded, sub-pixel tail) computes the same images faster."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from monai_roigan.networks import PerClassGenerator, ROIGenerator, fold_batch_norms, inference_network
from monai_roigan.networks.inference import _phase_conv, subpixel_tail


def _trained_like(network: nn.Module, seed: int = 0) -> nn.Module:
    """Batch-norm statistics and affine parameters away from their defaults, as after training."""
    g = torch.Generator().manual_seed(seed)
    for m in network.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.3)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) * 2 + 0.2)
            if m.affine:
                m.bias.data.copy_(torch.randn(m.num_features, generator=g) * 0.1)
    return network.eval()


def _inputs(batch: int = 6, latent_dim: int = 100, classes: int = 4):
    g = torch.Generator().manual_seed(1)
    return torch.rand(batch, latent_dim, generator=g) * 2 - 1, torch.arange(batch) % max(classes, 1)


@pytest.mark.parametrize(
    "options",
    [
        {"width": 0.125},
        {"width": 0.125, "upsample": "resize"},
        {"width": 0.125, "upsample": "antialiased"},
        {"width": 0.0625, "output_size": 128, "upsample": "transposed"},
        {"width": 0.125, "kernel_size": 3, "upsample": "transposed"},
        {"width": 0.125, "num_classes": 0, "upsample": "transposed"},
        {"width": 0.25, "kernel_size": 7, "upsample": "transposed"},
        {"width": 0.0625, "output_size": 128, "kernel_size": 3, "upsample": "resize"},
    ],
)
def test_inference_network_gives_the_same_images(options):
    """Every layout gives the same images; the transposed one gets the sub-pixel tail, the others (whose reflect
    padding has no half-resolution form) only the folded batch norms."""
    network = _trained_like(ROIGenerator(**options))
    z, labels = _inputs(classes=options.get("num_classes", 4))
    with torch.no_grad():
        before = network(z, labels)
        fast = inference_network(network)
        assert torch.allclose(fast(z, labels), before, atol=1e-5)
        assert torch.equal(network(z, labels), before)  # the original is untouched
    assert not any(isinstance(m, nn.BatchNorm2d) for m in fast.modules())
    assert any(isinstance(m, nn.BatchNorm2d) for m in network.modules())
    transposed = options.get("upsample", "transposed") == "transposed"
    assert isinstance(fast.to_image[1], nn.PixelShuffle) == transposed
    assert not isinstance(network.to_image[1], nn.PixelShuffle)
    assert fast.latent_dim == network.latent_dim and fast.output_size == network.output_size


def test_inference_network_of_a_per_class_generator_and_of_a_network_in_training_mode():
    network = _trained_like(PerClassGenerator(num_classes=3, width=0.0625, upsample="transposed")).train()
    z, labels = _inputs(classes=3)
    fast = inference_network(network)
    assert network.training and not fast.training
    with torch.no_grad():
        assert torch.allclose(fast(z, labels), network.eval()(z, labels), atol=1e-5)
    assert sum(isinstance(m, nn.PixelShuffle) for m in fast.modules()) == 3


def test_fold_batch_norms_leaves_what_it_cannot_fold():
    block = nn.Sequential(nn.ReLU(), nn.BatchNorm2d(3), nn.Conv2d(3, 3, 3, padding=1), nn.BatchNorm2d(3, affine=False))
    block = _trained_like(block)
    folded = fold_batch_norms(block)
    assert [type(m) for m in folded] == [nn.ReLU, nn.BatchNorm2d, nn.Conv2d, nn.BatchNorm2d]
    x = torch.randn(2, 3, 8, 8)
    assert torch.allclose(folded(x), block(x), atol=1e-6)


def test_subpixel_tail_refuses_another_shape():
    network = _trained_like(ROIGenerator(width=0.0625, upsample="transposed"))
    network.to_image = nn.Sequential(nn.Conv2d(network.to_image[0].in_channels, 1, 5, padding="same"), nn.Tanh())
    folded = fold_batch_norms(network)
    assert subpixel_tail(folded) is False and isinstance(folded.to_image[0], nn.Conv2d)
    z, labels = _inputs()
    with torch.no_grad():
        assert torch.allclose(inference_network(network)(z, labels), network(z, labels), atol=1e-5)


@pytest.mark.parametrize("kernel, padding, output_padding", [(5, 2, 1), (3, 1, 1), (4, 1, 0), (7, 3, 1)])
def test_a_transposed_convolution_equals_its_phase_form(kernel, padding, output_padding):
    torch.manual_seed(0)
    layer = nn.ConvTranspose2d(5, 3, kernel, 2, padding, output_padding)
    x = torch.randn(2, 5, 9, 9)
    with torch.no_grad():
        assert torch.allclose(F.pixel_shuffle(_phase_conv(layer)(x), 2), layer(x), atol=1e-5)


@pytest.mark.parametrize("kernel", [3, 5, 7])
def test_a_convolution_equals_its_phase_form(kernel):
    torch.manual_seed(0)
    layer = nn.Conv2d(4, 2, kernel, 1, kernel // 2)
    y = torch.randn(2, 4, 18, 18)
    with torch.no_grad():
        assert torch.allclose(F.pixel_shuffle(_phase_conv(layer)(F.pixel_unshuffle(y, 2)), 2), layer(y), atol=1e-5)
