"""Decode DICOM mammograms to display-ready intensities in [0, 1].

The intensity rule, in DICOM's own order (PS3.3 C.11):

1. **Stored values**: pixels are masked to ``BitsStored`` (unsigned) or sign-extended from it (signed), so
   overlay or garbage bits above ``HighBit`` never leak into the image.
2. **Modality LUT**: ``RescaleSlope``/``RescaleIntercept`` or a Modality LUT Sequence (pydicom's
   :func:`~pydicom.pixels.apply_modality_lut`).
3. **VOI** (optional, ``voi=``): ``"none"`` (default) keeps the full range; ``"window"`` applies
   ``WindowCenter``/``WindowWidth`` (or an explicit ``window=(center, width)``) with the file's
   ``VOILUTFunction`` (LINEAR, LINEAR_EXACT, SIGMOID); ``"lut"`` applies the VOI LUT Sequence; ``"auto"``
   uses the LUT if present, else the window if present, else nothing.
4. **Normalisation**: without VOI the value is divided by the *representable* range of step 2, i.e. the
   Modality LUT applied to ``[min_stored, max_stored]`` of ``BitsStored``; it never depends on the image's own
   min/max, so two images from one detector keep their relative brightness. A VOI maps directly to [0, 1].
5. **Photometric interpretation**: ``MONOCHROME1`` is inverted (``1 - v``) so dense tissue is bright, as in
   ``MONOCHROME2``.

Compressed transfer syntaxes decode through pydicom's plugins; when none is installed for the file's
syntax, :class:`~monai_roigan.utils.errors.UnsupportedTransferSyntaxError` names the syntax and the extra to
install. Patient-identifying attributes are never copied into the returned metadata.

Corrupt input never yields pixels: the header is validated before any pixel buffer is allocated (required
attributes present, ``Rows x Columns`` at most ``max_pixels``, native pixel data as long as the header
promises), and whatever pydicom or a codec raises on damaged data is re-raised as
:class:`~monai_roigan.utils.errors.MammogramReadError` naming the file.
"""

from __future__ import annotations

import os
import struct
from os import PathLike
from typing import Any

import numpy as np
import pydicom
from pydicom.errors import BytesLengthException, InvalidDicomError
from pydicom.pixels import apply_modality_lut, apply_voi_lut
from pydicom.pixels.decoders.base import get_decoder

from monai_roigan.data.limits import MAX_PIXELS, check_image_size
from monai_roigan.utils.errors import MammogramReadError, UnsupportedTransferSyntaxError

__all__ = ["read_dicom_mammogram", "dicom_laterality", "dicom_view", "dicom_spacing", "VOI_MODES"]

VOI_MODES = ("none", "window", "lut", "auto")
VIEW_CODES = ("CC", "MLO", "ML", "LM", "LMO", "XCCL", "XCCM", "FB", "SIO", "AT", "CV")
CODEC_EXTRA = "pip install 'monai-roigan[dicom-codecs]'"
_IMAGE_PIXEL_ATTRIBUTES = ("Rows", "Columns", "BitsAllocated", "BitsStored", "PixelRepresentation")
#: What pydicom and its codecs raise on damaged files (lazy element parsing means any attribute access can).
_CORRUPT_DATA_ERRORS = (
    ValueError,
    TypeError,
    KeyError,
    AttributeError,
    IndexError,
    NotImplementedError,
    RuntimeError,
    EOFError,
    OSError,
    OverflowError,
    struct.error,
    BytesLengthException,
)


def _read_dataset(path: str) -> pydicom.Dataset:
    try:
        ds = pydicom.dcmread(path)
    except InvalidDicomError as err:
        raise MammogramReadError(path, f"not a DICOM file ({err})") from None
    if "PixelData" not in ds:
        raise MammogramReadError(path, "DICOM file has no pixel data (PixelData element missing)")
    return ds


def _check_header(ds: pydicom.Dataset, path: str, max_pixels: int) -> None:
    """Refuse a header that is incomplete, or promises more pixels than allowed or than the file holds."""
    missing = [k for k in _IMAGE_PIXEL_ATTRIBUTES if ds.get(k, None) is None]
    if missing:
        raise MammogramReadError(path, f"image pixel module incomplete: missing {missing}")
    rows = int(ds.Rows)
    cols = int(ds.Columns)
    bits = int(ds.BitsAllocated)
    check_image_size(path, rows, cols, max_pixels)
    if not 1 <= int(ds.BitsStored) <= bits:
        raise MammogramReadError(path, f"BitsStored {ds.BitsStored} outside 1..BitsAllocated ({bits})")
    if not ds.file_meta.TransferSyntaxUID.is_compressed and not ds["PixelData"].is_undefined_length:
        needed = rows * cols * int(ds.get("SamplesPerPixel", 1)) * bits // 8
        if len(ds.PixelData) < needed:
            raise MammogramReadError(path, f"truncated pixel data: {len(ds.PixelData)} bytes, header needs {needed}")


def _check_decodable(ds: pydicom.Dataset, path: str) -> None:
    uid = ds.file_meta.get("TransferSyntaxUID")
    if uid is None:
        raise MammogramReadError(path, "DICOM file meta has no TransferSyntaxUID")
    try:
        decoder = get_decoder(uid)
    except NotImplementedError:
        raise UnsupportedTransferSyntaxError(
            path, f"transfer syntax {uid.name} ({uid}) cannot be decoded by pydicom"
        ) from None
    if not decoder.is_available:
        raise UnsupportedTransferSyntaxError(
            path, f"transfer syntax {uid.name} ({uid}) needs a decoder that is not installed; run: {CODEC_EXTRA}"
        )


def _stored_values(ds: pydicom.Dataset, path: str) -> np.ndarray:
    """Decoded pixel array (H, W), masked or sign-extended to ``BitsStored``."""
    if int(ds.get("SamplesPerPixel", 1)) != 1:
        raise MammogramReadError(path, f"expected a grayscale image, SamplesPerPixel is {ds.SamplesPerPixel}")
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    if frames != 1:
        raise MammogramReadError(path, f"multi-frame DICOM ({frames} frames); a mammogram is one frame")
    try:
        arr = ds.pixel_array
    except _CORRUPT_DATA_ERRORS as err:
        raise MammogramReadError(path, f"pixel data could not be decoded ({type(err).__name__}: {err})") from None
    if arr.shape != (int(ds.Rows), int(ds.Columns)):
        raise MammogramReadError(
            path, f"decoded pixel array has shape {arr.shape}, the header says {ds.Rows}x{ds.Columns}"
        )
    bits = int(ds.BitsStored)
    if int(ds.PixelRepresentation) == 0:
        return (arr.astype(np.int64) & ((1 << bits) - 1)).astype(np.int64)
    shifted = arr.astype(np.int64) << (64 - bits)
    return shifted >> (64 - bits)


def _modality_range(ds: pydicom.Dataset) -> tuple[float, float]:
    """(lo, hi) of the Modality LUT output over every representable stored value."""
    bits = int(ds.BitsStored)
    lo, hi = (0, (1 << bits) - 1) if int(ds.PixelRepresentation) == 0 else (-(1 << (bits - 1)), (1 << (bits - 1)) - 1)
    stored = np.arange(lo, hi + 1) if bits <= 16 else np.array([lo, hi])
    mapped = apply_modality_lut(stored, ds)
    return float(np.min(mapped)), float(np.max(mapped))


def _window(values: np.ndarray, center: float, width: float, function: str) -> np.ndarray:
    """DICOM PS3.3 C.11.2.1.2 VOI windowing straight to [0, 1]."""
    if function == "SIGMOID":
        return 1.0 / (1.0 + np.exp(-4.0 * (values - center) / width))
    if function == "LINEAR_EXACT":
        return np.clip((values - center) / width + 0.5, 0.0, 1.0)
    if width == 1:
        return (values >= center - 0.5).astype(np.float64)
    return np.clip((values - (center - 0.5)) / (width - 1) + 0.5, 0.0, 1.0)


def _first(value: Any) -> float:
    return float(value[0]) if isinstance(value, pydicom.multival.MultiValue) else float(value)


def _apply_voi(ds, values, voi, window, path) -> tuple[np.ndarray, str] | None:
    """Return (intensities in [0, 1], description) for a VOI transform, or None for no VOI."""
    has_lut = "VOILUTSequence" in ds
    has_window = "WindowCenter" in ds and "WindowWidth" in ds
    if voi == "auto":
        voi = "window" if window is not None else ("lut" if has_lut else ("window" if has_window else "none"))
    if voi == "none":
        return None
    if voi == "lut":
        if not has_lut:
            raise MammogramReadError(path, "voi='lut' requested but the file has no VOILUTSequence")
        bits = int(ds.VOILUTSequence[0].LUTDescriptor[2])
        out = apply_voi_lut(np.rint(values).astype(np.int64), ds, prefer_lut=True).astype(np.float64)
        return np.clip(out / float((1 << bits) - 1), 0.0, 1.0), "VOI LUT sequence"
    if window is None:
        if not has_window:
            raise MammogramReadError(path, "voi='window' requested but the file has no WindowCenter/WindowWidth")
        window = (_first(ds.WindowCenter), _first(ds.WindowWidth))
    function = str(ds.get("VOILUTFunction", "LINEAR")).upper()
    center, width = float(window[0]), float(window[1])
    if not (np.isfinite(center) and np.isfinite(width) and (width >= 1 if function == "LINEAR" else width > 0)):
        raise MammogramReadError(path, f"invalid VOI window center={center:g} width={width:g} for {function}")
    return _window(values, center, width, function), f"window center={center:g} width={width:g} ({function})"


def dicom_laterality(ds: pydicom.Dataset) -> str | None:
    """Laterality ``"L"``/``"R"`` from ImageLaterality, then Laterality, else None."""
    for keyword in ("ImageLaterality", "Laterality"):
        value = str(ds.get(keyword, "") or "").strip().upper()
        if value in ("L", "R"):
            return value
    return None


def dicom_view(ds: pydicom.Dataset) -> str | None:
    """View (``"CC"``, ``"MLO"``, ...) from ViewPosition, then a view code stored in PatientOrientation."""
    value = str(ds.get("ViewPosition", "") or "").strip().upper()
    if value in VIEW_CODES:
        return value
    orientation = ds.get("PatientOrientation", None)
    parts = list(orientation) if isinstance(orientation, pydicom.multival.MultiValue) else [orientation]
    for part in parts:
        part = str(part or "").strip().upper()
        if part in VIEW_CODES:  # CBIS-DDSM stores the view here instead of patient directions
            return part
    return None


def dicom_spacing(ds: pydicom.Dataset) -> tuple[float, float] | None:
    """Pixel spacing (row, column) in mm from PixelSpacing, ImagerPixelSpacing or NominalScannedPixelSpacing."""
    for keyword in ("PixelSpacing", "ImagerPixelSpacing", "NominalScannedPixelSpacing"):
        value = ds.get(keyword, None)
        if value is not None and len(value) == 2 and float(value[0]) > 0 and float(value[1]) > 0:
            return float(value[0]), float(value[1])
    return None


def read_dicom_mammogram(
    path: str | PathLike, voi: str = "none", window: tuple[float, float] | None = None, max_pixels: int = MAX_PIXELS
) -> tuple[np.ndarray, dict]:
    """Read a DICOM mammogram.

    Args:
        path: DICOM file.
        voi: ``"none"``, ``"window"``, ``"lut"`` or ``"auto"`` (see the module docstring).
        window: explicit ``(center, width)`` in Modality-LUT units; implies ``voi="window"`` unless
            ``voi="none"``.
        max_pixels: refuse images with more than this many pixels (``Rows x Columns``) before decoding.

    Returns:
        ``(array, meta)``: float32 array (H, W) in [0, 1], row 0 at the top as stored; meta with ``format``,
        ``bits_stored``, ``spacing`` (row, col mm or None), ``laterality``, ``view``,
        ``photometric_interpretation``, ``transfer_syntax``, ``modality``, ``intensity_rule``.

    Raises:
        FileNotFoundError: no such file.
        MammogramReadError: not DICOM, damaged, incomplete or implausible header, truncated or undecodable
            pixel data, not grayscale (:class:`UnsupportedTransferSyntaxError` when a codec is missing).
    """
    path = os.fspath(path)
    if voi not in VOI_MODES:
        raise ValueError(f"voi must be one of {VOI_MODES}, got {voi!r}")
    if window is not None and voi == "none":
        voi = "window"
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such DICOM file")
    try:
        return _decode(path, voi, window, max_pixels)
    except MammogramReadError:
        raise
    except _CORRUPT_DATA_ERRORS as err:
        # chained, not hidden: a traceback still shows where the error arose (pydicom, a codec, or this module)
        raise MammogramReadError(path, f"damaged DICOM file ({type(err).__name__}: {err})") from err


def _decode(path: str, voi: str, window: tuple[float, float] | None, max_pixels: int) -> tuple[np.ndarray, dict]:
    ds = _read_dataset(path)
    _check_decodable(ds, path)
    _check_header(ds, path, max_pixels)
    photometric = str(ds.get("PhotometricInterpretation", "")).strip().upper()
    if photometric not in ("MONOCHROME1", "MONOCHROME2"):
        raise MammogramReadError(path, f"photometric interpretation {photometric!r} is not grayscale")
    stored = _stored_values(ds, path)
    values = apply_modality_lut(stored, ds).astype(np.float64)
    voi_result = _apply_voi(ds, values, voi, window, path)
    if voi_result is None:
        lo, hi = _modality_range(ds)
        image = np.clip((values - lo) / max(hi - lo, 1e-12), 0.0, 1.0)
        rule = f"modality LUT output / representable range [{lo:g}, {hi:g}]"
    else:
        image, rule = voi_result
    if not np.isfinite(image).all():
        raise MammogramReadError(path, f"non-finite intensities after {rule} (check RescaleSlope and the VOI)")
    if photometric == "MONOCHROME1":
        image = 1.0 - image
        rule += ", MONOCHROME1 inverted"
    meta = {
        "format": "DICOM",
        "bits_stored": int(ds.BitsStored),
        "spacing": dicom_spacing(ds),
        "laterality": dicom_laterality(ds),
        "view": dicom_view(ds),
        "photometric_interpretation": photometric,
        "transfer_syntax": str(ds.file_meta.TransferSyntaxUID),
        "modality": str(ds.get("Modality", "")),
        "intensity_rule": rule,
    }
    return image.astype(np.float32), meta
