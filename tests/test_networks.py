import pytest
import torch

from monai_roigan.networks import (
    PRESETS,
    PerClassDiscriminator,
    PerClassGenerator,
    ROIDiscriminator,
    ROIGenerator,
    load_generator,
)


def count(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("size", [64, 128])
def test_shapes_and_ranges(size):
    g, d = (
        ROIGenerator(width=PRESETS["tiny"], output_size=size),
        ROIDiscriminator(width=PRESETS["tiny"], input_size=size),
    )
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
    assert [m.out_channels for m in convs] == [64, 128, 256, 512, 1024] and [m.stride[0] for m in convs] == [
        2,
        2,
        2,
        2,
        1,
    ]
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


@pytest.mark.parametrize("width", [PRESETS["tiny"], 0.25])
def test_load_generator_infers_the_architecture_and_names_bad_files(tmp_path, width):
    g = ROIGenerator(width=width, num_classes=3, latent_dim=20).eval()
    torch.save(g.state_dict(), tmp_path / "g.pt")
    loaded = load_generator(tmp_path / "g.pt")  # no width, class count or latent size given
    z, labels = torch.rand(2, 20) * 2 - 1, torch.tensor([0, 2])
    with torch.no_grad():
        torch.testing.assert_close(loaded(z, labels), g(z, labels), rtol=0, atol=0)
    state = g.state_dict()
    state["to_image.0.weight"] = state["to_image.0.weight"][:, :1]
    torch.save(state, tmp_path / "bad.pt")
    with pytest.raises(ValueError, match="bad.pt.*do not fit"):
        load_generator(tmp_path / "bad.pt")
    torch.save({"code": ROIGenerator}, tmp_path / "pickle.pt")  # a class object needs unpickling of code
    with pytest.raises(ValueError, match="refused"):
        load_generator(tmp_path / "pickle.pt")
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        load_generator(tmp_path / "missing.pt")


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


def test_auxiliary_class_head():
    d = ROIDiscriminator(width=PRESETS["tiny"], aux_classifier=True).eval()
    x, labels = torch.rand(3, 1, 64, 64) * 2 - 1, torch.tensor([0, 3, 1])
    logits, classes = d(x, labels, return_class_logits=True)
    assert logits.shape == (3,) and classes.shape == (3, 4)
    assert torch.equal(logits, d(x, labels))  # the head does not change the adversarial logit
    with pytest.raises(ValueError, match="aux_classifier=True"):
        ROIDiscriminator(width=PRESETS["tiny"])(x, labels, return_class_logits=True)
    with pytest.raises(ValueError, match="num_classes > 0"):
        ROIDiscriminator(num_classes=0, aux_classifier=True)


def test_per_class_models_dispatch_by_label():
    g = PerClassGenerator(num_classes=3, width=PRESETS["tiny"]).eval()
    z, labels = torch.rand(5, 100) * 2 - 1, torch.tensor([2, 0, 2, 1, 0])
    with torch.no_grad():
        out = g(z, labels)
        assert out.shape == (5, 1, 64, 64) and float(out.abs().max()) <= 1
        for i, k in enumerate(labels.tolist()):  # sample i comes from the generator of its own class
            torch.testing.assert_close(out[i], g.models[k](z[i : i + 1])[0])
    assert all(m.num_classes == 0 for m in g.models)  # unconditional members, no shared parameters
    d = PerClassDiscriminator(num_classes=3, width=PRESETS["tiny"]).eval()
    assert d(out, labels).shape == (5,)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 2\], got labels from 0 to 3"):
        g(z, torch.tensor([0, 1, 3, 0, 0]))
    with pytest.raises(ValueError, match="needs class labels"):
        g(z)


@pytest.mark.parametrize(
    "make",
    [
        lambda: ROIGenerator(width=PRESETS["tiny"]),
        lambda: ROIGenerator(latent_dim=32, num_classes=0, width=PRESETS["small"], output_size=128, kernel_size=3),
        lambda: ROIGenerator(num_classes=2, width=PRESETS["tiny"], embedding_dim=10),
        lambda: PerClassGenerator(num_classes=3, width=PRESETS["tiny"]),
    ],
)
def test_load_generator_rebuilds_the_architecture_from_the_file(tmp_path, make):
    g = make().eval()
    torch.save(g.state_dict(), tmp_path / "model.pt")
    loaded = load_generator(tmp_path / "model.pt")
    assert type(loaded) is type(g) and not loaded.training
    z = torch.rand(3, g.latent_dim) * 2 - 1
    labels = None if getattr(g, "embed", 1) is None else torch.tensor([0, 1, 0])
    with torch.no_grad():
        torch.testing.assert_close(loaded(z, labels), g(z, labels))


def test_load_generator_names_a_file_that_is_no_generator(tmp_path):
    torch.save(ROIDiscriminator(width=PRESETS["tiny"]).state_dict(), tmp_path / "d.pt")
    with pytest.raises(ValueError, match=r"d\.pt: not a ROI generator"):
        load_generator(tmp_path / "d.pt")
