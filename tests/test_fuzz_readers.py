"""Property-based fuzzing (hypothesis) of every reader of untrusted input.

Properties, for any bytes:
- the reader returns a correct result or raises the package's documented exception naming the file;
- nothing else escapes (no KeyError, struct.error, MemoryError, ...), and no call hangs (an alarm fails a
  test that runs more than ``HANG_SECONDS``);
- a header that lies about the image size never makes the reader allocate what it promises.

Runs are derandomized (the same examples on every CI run) and bounded by ``max_examples``; a longer random
campaign: ``MONAI_ROIGAN_FUZZ_EXAMPLES=5000 python -m pytest tests/test_fuzz_readers.py``.
"""

import io
import os
import signal
import sys
import tracemalloc

import numpy as np
import pydicom
import pytest
import tifffile
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from PIL import Image
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEGBaseline8Bit,
    RLELossless,
)

from monai_roigan.data import parse_mias_info, read_cbis_ddsm_csv
from monai_roigan.data.pgm import read_pgm
from monai_roigan.transforms import LoadMammogram
from monai_roigan.utils.errors import AnnotationError, MammogramReadError
from tests.data.malformed.make_corpus import CBIS_HEADER, CBIS_ROW, dicom_bytes, dicom_dataset

#: CI runs 300 derandomized examples per test; set MONAI_ROIGAN_FUZZ_EXAMPLES for a longer, random campaign.
EXAMPLES = int(os.environ.get("MONAI_ROIGAN_FUZZ_EXAMPLES", 0))
FUZZ = settings(
    max_examples=EXAMPLES or 300,
    derandomize=not EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
HANG_SECONDS = 120 if not EXAMPLES else 3600
PEAK_LIMIT = 64 * 2**20
LOAD = LoadMammogram()
SEED_DICOM = dicom_bytes(dicom_dataset())
SEED_PGM = b"P5\n16 16\n255\n" + bytes(range(256))


@pytest.fixture(autouse=True)
def no_hang():
    """Fail, rather than hang, when one fuzz test runs for more than HANG_SECONDS."""
    if sys.platform == "win32":
        yield
        return

    def hang(signum, frame):
        raise TimeoutError(f"fuzz test ran for more than {HANG_SECONDS} s")

    previous = signal.signal(signal.SIGALRM, hang)
    signal.alarm(HANG_SECONDS)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def read_image_or_error(path):
    """LoadMammogram's result as an array, or None after a MammogramReadError naming ``path``."""
    try:
        image = LOAD(path)
    except MammogramReadError as err:
        assert str(path) in str(err)
        event("error: " + err.problem.split("(")[0].split(":")[0][:30].encode("ascii", "replace").decode())
        return None
    event("decoded")
    array = image.numpy()
    assert array.dtype == np.float32 and array.ndim == 3 and array.shape[0] == 1
    assert np.isfinite(array).all() and array.min() >= 0.0 and array.max() <= 1.0
    return array


def mutate(data: bytes, draw) -> bytes:
    """Overwrite, insert or delete a few bytes of ``data``, then maybe truncate it."""
    buf = bytearray(data)
    for _ in range(draw(st.integers(1, 3))):
        pos = draw(st.integers(0, len(buf) - 1))
        op = draw(st.sampled_from(["set", "insert", "delete"]))
        if op == "set":
            buf[pos] = draw(st.integers(0, 255))
        elif op == "insert":
            buf[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        else:
            del buf[pos : pos + draw(st.integers(1, 8))]
    if draw(st.booleans()):
        buf = buf[: draw(st.integers(0, len(buf)))]
    return bytes(buf)


# PGM ------------------------------------------------------------------------------------------------------
@FUZZ
@given(data=st.data())
def test_pgm_mutations(tmp_path, data):
    path = tmp_path / "fuzz.pgm"
    path.write_bytes(mutate(SEED_PGM, data.draw))
    read_image_or_error(path)


@FUZZ
@given(
    magic=st.sampled_from([b"P5", b"P2"]),
    width=st.integers(-5, 2**40),
    height=st.integers(-5, 2**40),
    maxval=st.integers(-5, 2**20),
    body=st.binary(max_size=3000),
)
def test_pgm_lying_headers_never_allocate_what_they_promise(tmp_path, magic, width, height, maxval, body):
    path = tmp_path / "fuzz.pgm"
    path.write_bytes(magic + f"\n{width} {height}\n{maxval}\n".encode() + body)
    tracemalloc.start()
    try:
        array, file_maxval = read_pgm(path)
    except MammogramReadError as err:
        assert str(path) in str(err)
    else:
        assert array.shape == (height, width) and file_maxval == maxval and int(array.max()) <= maxval
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < PEAK_LIMIT


# PNG and TIFF --------------------------------------------------------------------------------------------
def _raster_seed(suffix: str) -> bytes:
    buf = io.BytesIO()
    pixels = (np.arange(32 * 32, dtype=np.uint16) * 61 % 65535).reshape(32, 32)
    if suffix == "png":
        Image.fromarray(pixels).save(buf, format="PNG")
    else:
        tifffile.imwrite(buf, pixels)
    return buf.getvalue()


RASTER_SEEDS = {suffix: _raster_seed(suffix) for suffix in ("png", "tif")}


@FUZZ
@given(suffix=st.sampled_from(["png", "tif"]), data=st.data())
def test_png_and_tiff_mutations(tmp_path, suffix, data):
    path = tmp_path / f"fuzz.{suffix}"
    path.write_bytes(mutate(RASTER_SEEDS[suffix], data.draw))
    read_image_or_error(path)


# DICOM ----------------------------------------------------------------------------------------------------
@FUZZ
@given(data=st.data())
def test_dicom_mutations(tmp_path, data):
    path = tmp_path / "fuzz.dcm"
    path.write_bytes(SEED_DICOM[:132] + mutate(SEED_DICOM[132:], data.draw))  # keep the magic: test the parser
    read_image_or_error(path)


HEADER = st.fixed_dictionaries(
    {
        "Rows": st.sampled_from([0, 1, 16, 16, 16, 4000, 65535]),
        "Columns": st.sampled_from([0, 1, 16, 16, 16, 4000, 65535]),
        "BitsAllocated": st.sampled_from([1, 8, 12, 16, 16, 32]),
        "BitsStored": st.one_of(st.integers(1, 16), st.integers(0, 40)),
        "PixelRepresentation": st.sampled_from([0, 0, 1, 2]),
        "PhotometricInterpretation": st.sampled_from(["MONOCHROME1", "MONOCHROME2", "MONOCHROME2", "RGB", ""]),
        "SamplesPerPixel": st.sampled_from([1, 1, 1, 3]),
        "RescaleSlope": st.sampled_from(["1", "1", "0", "-2.5", "1e300", "1e400"]),
    }
)
SYNTAX = st.sampled_from(
    [
        ExplicitVRLittleEndian,
        ExplicitVRLittleEndian,
        ImplicitVRLittleEndian,
        DeflatedExplicitVRLittleEndian,
        RLELossless,
        JPEGBaseline8Bit,
        "1.2.3.4",
    ]
)


def _header_file(attrs: dict, syntax: str, pixel_bytes: bytes) -> bytes:
    ds = dicom_dataset(HighBit=max(int(attrs["BitsStored"]) - 1, 0), **attrs)
    ds.PixelData = pixel_bytes
    ds.file_meta.TransferSyntaxUID = syntax
    if syntax in (RLELossless, JPEGBaseline8Bit):
        ds.PixelData = pydicom.encaps.encapsulate([pixel_bytes or b"\0\0"])
    buf = io.BytesIO()
    pydicom.dcmwrite(buf, ds, enforce_file_format=True)
    return buf.getvalue()


@FUZZ
@given(attrs=HEADER, syntax=SYNTAX, data=st.data())
def test_dicom_headers_give_right_shape_or_an_error(tmp_path, attrs, syntax, data):
    exact = attrs["Rows"] * attrs["Columns"] * max(attrs["BitsAllocated"] // 8, 1)
    size = data.draw(st.sampled_from([exact, exact, exact // 2, 7]) if exact <= 2048 else st.integers(0, 2048))
    path = tmp_path / "fuzz.dcm"
    path.write_bytes(_header_file(attrs, syntax, data.draw(st.binary(min_size=size, max_size=size))))
    tracemalloc.start()
    try:
        array = read_image_or_error(path)
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    if array is not None:
        assert array.shape == (1, attrs["Rows"], attrs["Columns"])
        assert attrs["PhotometricInterpretation"] in ("MONOCHROME1", "MONOCHROME2")
        assert 1 <= attrs["BitsStored"] <= attrs["BitsAllocated"]
    assert peak < 2 * 4000 * 4000 * 8 + PEAK_LIMIT  # at most a few float64 copies of what the bytes hold


@FUZZ
@given(
    bits_allocated=st.sampled_from([8, 16]),
    data=st.data(),
    signed=st.booleans(),
    monochrome1=st.booleans(),
    syntax=st.sampled_from(["native", "implicit", "deflate", "rle"]),
)
def test_dicom_valid_headers_decode_exact_values(tmp_path, bits_allocated, data, signed, monochrome1, syntax):
    """Any valid grayscale header gives exactly the documented intensities (no silently wrong pixels)."""
    bits = data.draw(st.integers(1, bits_allocated))
    # pydicom's RLE *encoder* writes 16-bit-allocated pixels with at most 8 bits stored as one byte per sample,
    # which its decoder (rightly) refuses; that is a writer problem, so such files are not built here
    assume(not (syntax == "rle" and bits_allocated == 16 and bits <= 8))
    dtype = np.dtype(f"<{'i' if signed else 'u'}{bits_allocated // 8}")
    raw = np.frombuffer(
        data.draw(st.binary(min_size=16 * 16 * dtype.itemsize, max_size=16 * 16 * dtype.itemsize)), dtype=dtype
    ).reshape(16, 16)
    ds = dicom_dataset(
        BitsAllocated=bits_allocated,
        BitsStored=bits,
        HighBit=bits - 1,
        PixelRepresentation=int(signed),
        PhotometricInterpretation="MONOCHROME1" if monochrome1 else "MONOCHROME2",
    )
    ds.PixelData = raw.tobytes()
    syntaxes = {"implicit": ImplicitVRLittleEndian, "deflate": DeflatedExplicitVRLittleEndian}
    if syntax == "rle":
        ds.compress(RLELossless)
    elif syntax in syntaxes:
        ds.file_meta.TransferSyntaxUID = syntaxes[syntax]
    path = tmp_path / "valid.dcm"
    pydicom.dcmwrite(path, ds, enforce_file_format=True)
    stored = raw.astype(np.int64) & ((1 << bits) - 1)  # bits above BitsStored are ignored
    if signed:
        stored = np.where(stored >= 1 << (bits - 1), stored - (1 << bits), stored)
    lo = -(1 << (bits - 1)) if signed else 0
    expected = (stored - lo) / float((1 << bits) - 1)
    expected = 1.0 - expected if monochrome1 else expected
    np.testing.assert_allclose(LOAD(path)[0].numpy(), expected, atol=1e-6)


# MIAS Info.txt --------------------------------------------------------------------------------------------
TOKEN = st.one_of(
    st.sampled_from(
        [
            "mdb001",
            "mdb322",
            "mdb1",
            "G",
            "F",
            "D",
            "X",
            "CIRC",
            "NORM",
            "CALC",
            "ARCH",
            "B",
            "M",
            "*NOTE",
            "3*",
            "535",
            "425",
            "197",
            "0",
            "1024",
            "-7",
            "99999999999",
            "³",
            "½",
            "\t",
        ]
    ),
    st.text(min_size=1, max_size=6),
)
LINES = st.lists(st.lists(TOKEN, min_size=1, max_size=8).map(" ".join), max_size=12)


@FUZZ
@given(lines=LINES, encoding=st.sampled_from(["utf-8", "latin-1", "utf-16"]), newline=st.sampled_from(["\n", "\r\n"]))
def test_mias_info_rows(tmp_path, lines, encoding, newline):
    path = tmp_path / "Info.txt"
    path.write_bytes(newline.join(lines).encode(encoding, errors="replace"))
    try:
        records = parse_mias_info(path)
    except AnnotationError as err:
        assert str(path) in str(err)
        return
    for rec in records:
        assert rec.refnum.startswith("mdb") and rec.tissue in "FGD" and rec.severity in (None, "B", "M")
        if rec.center is not None:
            assert 0 <= rec.center[0] < 1024 and 0 <= rec.center[1] < 1024 and rec.radius > 0


@FUZZ
@given(data=st.binary(max_size=4000))
def test_mias_info_bytes(tmp_path, data):
    path = tmp_path / "Info.txt"
    path.write_bytes(data)
    with pytest.raises(AnnotationError, match=str(path)):
        parse_mias_info(path)  # random bytes essentially never form a valid table row


# CBIS-DDSM CSV --------------------------------------------------------------------------------------------
FIELD = st.one_of(
    st.sampled_from(["LEFT", "RIGHT", "CC", "MLO", "mass", "calcification", "1", "x", "", '"', "\n", "MALIGNANT"]),
    st.text(max_size=12),
)


@FUZZ
@given(rows=st.lists(st.lists(FIELD, max_size=16), max_size=6), encoding=st.sampled_from(["utf-8", "latin-1"]))
def test_cbis_csv_rows(tmp_path, rows, encoding):
    path = tmp_path / "cases.csv"
    body = "".join(",".join(r) + "\n" for r in rows)
    path.write_bytes((CBIS_HEADER + CBIS_ROW + body).encode(encoding, errors="replace"))
    try:
        records = read_cbis_ddsm_csv(path)
    except AnnotationError as err:
        assert str(path) in str(err)
        return
    assert records[0].patient_id == "P_00001"
    assert all(r.laterality in "LR" and r.view in ("CC", "MLO") for r in records)


@FUZZ
@given(data=st.data())
def test_cbis_csv_mutations(tmp_path, data):
    path = tmp_path / "cases.csv"
    path.write_bytes(mutate((CBIS_HEADER + CBIS_ROW).encode(), data.draw))
    try:
        read_cbis_ddsm_csv(path)
    except AnnotationError as err:
        assert str(path) in str(err)
