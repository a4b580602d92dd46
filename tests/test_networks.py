import pytest
import torch

from monai_roigan.networks import PRESETS, ROIDiscriminator, ROIGenerator, load_weights


def count(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("size", [64, 128])
def test_shapes_and_ranges(size):
    g, d = ROIGenerator(width=PRESETS["tiny"], output_size=size), ROIDiscriminator(width=PRESETS["tiny"], input_size=size)
    z, y = torch.rand(5, 100) * 2 - 1, torch.tensor([0, 1, 2, 3, 0])
    x = g(z, y)
    assert x.shape == (5, 1, size, size) and float(x.min()) >= -1 and float(x.max()) <= 1
    assert d(x, y).shape == (5,)


def test_paper_preset_follows_tables_2_and_3():
    g, d = ROIGenerator(width=PRESETS["paper"], num_classes=0), ROIDiscriminator(width=PRESETS["paper"], num_classes=0)
    project = g.project[0]
    assert project.in_features == 100 and project.out_features == 4 * 4 * 1024
    deconvs = [m for m in g.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    assert [m.out_channels for m in deconvs] == [512, 256, 128, 64] and all(m.kernel_size == (5, 5) for m in deconvs)
    convs = [m for m in d.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [m.out_channels for m in convs] == [64, 128, 256, 512, 1024] and [m.stride[0] for m in convs] == [2, 2, 2, 2, 1]
    assert d.head.in_features == 4 * 4 * 1024


def test_weights_initialised_from_n_0_002():
    g = ROIGenerator(width=PRESETS["small"])
    weights = torch.cat([m.weight.flatten() for m in g.modules() if isinstance(m, torch.nn.ConvTranspose2d)])
    assert abs(float(weights.mean())) < 2e-3 and 0.018 < float(weights.std()) < 0.022


def test_conditioning_changes_output_and_is_required():
    g = ROIGenerator(width=PRESETS["tiny"]).eval()
    z = torch.rand(2, 100) * 2 - 1
    a, b = g(z, torch.tensor([0, 0])), g(z, torch.tensor([3, 3]))
    assert not torch.allclose(a, b)
    with pytest.raises(ValueError, match="needs class labels"):
        g(z)
    assert ROIGenerator(width=PRESETS["tiny"], num_classes=0)(z).shape == (2, 1, 64, 64)


def test_bad_output_size():
    with pytest.raises(ValueError, match="power of two"):
        ROIGenerator(output_size=96)


def test_load_weights_errors(tmp_path):
    g = ROIGenerator(width=PRESETS["tiny"])
    torch.save(g.state_dict(), tmp_path / "g.pt")
    load_weights(ROIGenerator(width=PRESETS["tiny"]), tmp_path / "g.pt")
    with pytest.raises(ValueError, match="do not fit"):
        load_weights(ROIGenerator(width=PRESETS["tiny"], num_classes=5), tmp_path / "g.pt")
    torch.save({"code": ROIGenerator}, tmp_path / "pickle.pt")  # a class object needs unpickling of code
    with pytest.raises(ValueError, match="refused"):
        load_weights(g, tmp_path / "pickle.pt")
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        load_weights(g, tmp_path / "missing.pt")


def test_spectral_norm_discriminator():
    d = ROIDiscriminator(width=PRESETS["tiny"], norm="spectral")
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in d.modules())
    convs = [m for m in d.modules() if isinstance(m, torch.nn.Conv2d)]
    assert all(torch.nn.utils.parametrize.is_parametrized(m, "weight") for m in convs)
    d.train()
    for _ in range(20):  # power iterations converge during training-mode forward passes
        d(torch.rand(4, 1, 64, 64) * 2 - 1, torch.tensor([0, 1, 2, 3]))
    sigma = torch.linalg.matrix_norm(d.head.weight, ord=2)
    assert float(sigma) == pytest.approx(1.0, abs=0.05)
    with pytest.raises(ValueError, match="norm must be"):
        ROIDiscriminator(norm="layer")
