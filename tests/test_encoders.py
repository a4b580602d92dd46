"""FileEncoder: features from a TorchScript or torch.export network file, its preprocessing, and refused files."""

import hashlib
import io
import json
import warnings
import zipfile

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from monai_roigan.metrics.encoders import FileEncoder, encoder_file_kind
from monai_roigan.utils.errors import ModelFileError

MARKS = []


class WithKeyword(nn.Module):
    """Conv + global pool; ``return_features`` picks the pooled features (4) over the logits (2)."""

    def __init__(self):
        super().__init__()
        self.conv, self.head = nn.Conv2d(3, 4, 3), nn.Linear(4, 2)

    def forward(self, x, return_features: bool = False):
        features = torch.relu(self.conv(x / 255.0)).mean(dim=(2, 3))
        if return_features:
            return features
        return self.head(features)


class Plain(nn.Module):
    """No keyword; returns a feature map (B, 2, h, w) that the encoder flattens per image."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 2, 3, stride=2)

    def forward(self, x):
        return self.conv(x)


class Scalar(nn.Module):
    def forward(self, x):
        return x.sum()


def save_script(module, path):
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit.script / save are deprecated in 2.13
        torch.jit.save(torch.jit.script(module.eval()), str(path))
    return path


def load_script(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit.load is deprecated in 2.13
        return torch.jit.load(str(path))


def rois(n=5, size=16, seed=0):
    return np.random.default_rng(seed).uniform(-1.2, 1.2, (n, 1, size, size)).astype(np.float32)


def documented_preprocessing(images, size, low=0.0, high=255.0):
    x = torch.as_tensor(images).clamp(-1, 1).repeat(1, 3, 1, 1)
    x = low + (x + 1) * (high - low) / 2
    return x if size is None else F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)


def test_torchscript_with_return_features(tmp_path):
    path = save_script(WithKeyword(), tmp_path / "net.pt")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        encoder = FileEncoder(path, input_size=32, batch_size=2)
    assert not [w for w in caught if "jit" in str(w.message)]  # the torch.jit.load deprecation is handled
    assert encoder.kind == "torchscript" and encoder.call_kwargs == {"return_features": True}
    images = rois()
    features = encoder(images)
    module = load_script(path)
    with torch.no_grad():
        expected = module(documented_preprocessing(images, 32), return_features=True).double().numpy()
    assert features.shape == (5, 4) and features.dtype == np.float64
    np.testing.assert_allclose(features, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(encoder(images[:, 0]), features, rtol=1e-6)  # (N, S, S) too
    logits = FileEncoder(path, input_size=32, call_kwargs={})(images)
    assert logits.shape == (5, 2)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    text = encoder.description()
    assert "net.pt" in text and digest[:12] in text and "return_features=True" in text and "4 features" in text


def test_torchscript_without_keyword_is_flattened(tmp_path):
    path = save_script(Plain(), tmp_path / "plain.pt")
    encoder = FileEncoder(path, input_size=None, value_range=(0.0, 1.0))
    assert encoder.call_kwargs == {}
    images = rois(3)
    with torch.no_grad():
        expected = load_script(path)(documented_preprocessing(images, None, 0.0, 1.0))
    features = encoder(images)
    assert features.shape == (3, 2 * 7 * 7)
    np.testing.assert_allclose(features, expected.reshape(3, -1).double().numpy(), rtol=1e-5, atol=1e-6)
    assert encoder(np.zeros((0, 1, 16, 16))).shape == (0, 98)


def test_shrinking_is_antialiased(tmp_path):
    encoder = FileEncoder(save_script(Plain(), tmp_path / "plain.pt"), input_size=8)
    x = torch.as_tensor(rois(2, 32))
    expected = F.interpolate(
        (x.clamp(-1, 1).repeat(1, 3, 1, 1) + 1) * 127.5,
        size=(8, 8),
        mode="bilinear",
        align_corners=False,
        antialias=True,
    )
    torch.testing.assert_close(encoder.preprocess(x), expected)


def export_program(path, batch=2, size=32):
    torch.manual_seed(0)
    program = torch.export.export(
        WithKeyword().eval(), (torch.rand(batch, 3, size, size) * 255,), kwargs={"return_features": True}
    )
    torch.export.save(program, str(path))
    return path


def test_export_program_round_trip_with_fixed_batch(tmp_path):
    path = export_program(tmp_path / "net.pt2")
    encoder = FileEncoder(path, input_size=32)
    assert encoder.kind == "export" and encoder.fixed_batch == 2
    images = rois(5)  # batches of 2, the last padded
    torch.manual_seed(0)  # the exported weights
    reference = WithKeyword().eval()
    with torch.no_grad():
        expected = reference(documented_preprocessing(images, 32), return_features=True).double().numpy()
    np.testing.assert_allclose(encoder(images), expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(ModelFileError, match="takes 32x32 images, not input_size=299"):
        FileEncoder(path)


def rewrite_archive(source, target, change):
    """Copy a zip archive, passing each (name, bytes) through ``change``."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for name in old.namelist():
            new.writestr(name, change(name, old.read(name)))
    return target


def _mark():
    MARKS.append("unpickled")


class Marker:
    """Unpickling it calls :func:`_mark`."""

    def __reduce__(self):
        return (_mark, ())


def test_export_archives_with_pickles_are_refused_unread(tmp_path):
    path = export_program(tmp_path / "net.pt2")

    def pickled_weight(name, data):
        if name.endswith("_weights_config.json"):
            config = json.loads(data)
            next(iter(config["config"].values()))["use_pickle"] = True
            return json.dumps(config).encode()
        return data

    with pytest.raises(ModelFileError, match="stored as a pickle") as caught:
        FileEncoder(rewrite_archive(path, tmp_path / "pickled.pt2", pickled_weight), input_size=32)
    assert caught.value.path == str(tmp_path / "pickled.pt2")

    buffer = io.BytesIO()
    torch.save(Marker(), buffer)
    bad_inputs = rewrite_archive(
        path, tmp_path / "inputs.pt2", lambda n, d: buffer.getvalue() if "sample_inputs" in n else d
    )
    with pytest.raises(ModelFileError, match="sample inputs .* are not plain tensors"):
        FileEncoder(bad_inputs, input_size=32)
    assert MARKS == []  # nothing was unpickled


def test_garbage_files_are_named(tmp_path):
    garbage = tmp_path / "inception.pt"
    garbage.write_bytes(b"definitely not a network")
    with pytest.raises(ModelFileError, match="not a zip archive") as caught:
        FileEncoder(garbage)
    assert caught.value.path == str(garbage) and str(garbage) in str(caught.value)
    state = tmp_path / "state.pt"
    torch.save(WithKeyword().state_dict(), state)
    with pytest.raises(ModelFileError, match="neither a TorchScript archive"):
        encoder_file_kind(state)
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        FileEncoder(tmp_path / "missing.pt")


def test_outputs_that_are_not_per_image_features_are_named(tmp_path):
    encoder = FileEncoder(save_script(Scalar(), tmp_path / "scalar.pt"), input_size=None)
    with pytest.raises(ModelFileError, match="not one feature vector per image") as caught:
        encoder(rois(3))
    assert caught.value.path == str(tmp_path / "scalar.pt")
    with pytest.raises(ValueError, match="expected \\(N, 1, S, S\\)"):
        encoder(np.zeros((2, 3, 8, 8)))
