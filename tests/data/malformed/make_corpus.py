"""Write the malformed-input corpus and its ``manifest.json`` (deterministic; rerun after changing a case).

    python tests/data/malformed/make_corpus.py

Every case names the reader that gets it (``image``: :class:`~monai_roigan.transforms.LoadMammogram`,
``mias_info``: :func:`~monai_roigan.data.parse_mias_info`, ``cbis_csv``:
:func:`~monai_roigan.data.read_cbis_ddsm_csv`), the fault category, the exception expected (or ``ok`` for
odd but valid files, which must decode to the reference pixels) and a fragment of the expected message.
``tests/test_malformed_corpus.py`` checks every case; ``docs/robustness.md`` counts them.
"""

from __future__ import annotations

import io
import json
import random
import sys
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEGBaseline8Bit,
    RLELossless,
    SecondaryCaptureImageStorage,
)

HERE = Path(__file__).resolve().parent
CASES: list[dict] = []
#: The 16x16 reference image every valid-but-odd DICOM case must decode to (12 bits stored).
REFERENCE = (np.arange(16 * 16, dtype=np.uint16) * 13 % 4096).reshape(16, 16)


def case(file: str, reader: str, fault: str, expect: str, match: str = "", **kwargs) -> Path:
    CASES.append({"file": file, "reader": reader, "fault": fault, "expect": expect, "match": match, "kwargs": kwargs})
    path = HERE / file
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def dicom_dataset(pixels: np.ndarray = REFERENCE, **attrs) -> FileDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = "1.2.826.0.1.3680043.10.1422.1.1"  # fixed UIDs: reproducible files
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset("corpus", {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.Modality = "MG"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = pixels.shape
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.PixelData = pixels.astype("<u2").tobytes()
    for key, value in attrs.items():
        setattr(ds, key, value)
    return ds


def dicom_bytes(ds: FileDataset, **write_args) -> bytes:
    buf = io.BytesIO()
    pydicom.dcmwrite(buf, ds, enforce_file_format=True, **write_args)
    return buf.getvalue()


def write_pgm_cases() -> None:
    rng = random.Random(0)
    good = b"P5\n16 16\n255\n" + bytes(range(256))
    cases = [
        ("empty.pgm", "empty files", b"", "empty file"),
        ("wrong_magic.pgm", "wrong magic", b"P6\n16 16\n255\n" + bytes(768), "unknown image format"),
        ("truncated_header.pgm", "truncated files", b"P5\n16 ", "truncated PGM header"),
        ("truncated_pixels.pgm", "truncated files", good[:100], "truncated pixel data"),
        ("truncated_16bit.pgm", "truncated files", b"P5\n16 16\n65535\n" + bytes(256), "truncated pixel data"),
        ("absurd_dimensions.pgm", "absurd dimensions", b"P5\n60000 60000\n255\n" + bytes(16), "implausible image size"),
        ("lying_dimensions.pgm", "absurd dimensions", b"P5\n10000 10000\n255\n" + bytes(16), "truncated pixel data"),
        ("zero_width.pgm", "absurd dimensions", b"P5\n0 16\n255\n", "implausible image size"),
        ("huge_number.pgm", "absurd dimensions", b"P5\n" + b"9" * 5000 + b" 16\n255\n", "too many digits"),
        ("maxval_zero.pgm", "wrong bit depths", b"P5\n16 16\n0\n" + bytes(256), "maxval 0"),
        ("maxval_17bit.pgm", "wrong bit depths", b"P5\n16 16\n131071\n" + bytes(512), "maxval 131071"),
        ("value_above_maxval.pgm", "wrong bit depths", b"P5\n16 16\n100\n" + bytes([200] * 256), "exceeds"),
        ("letters_in_header.pgm", "malformed values", b"P5\nab cd\n255\n" + bytes(4), "expected a number"),
        ("endless_comment.pgm", "truncated files", b"P5\n# a comment that never ends", "truncated PGM header"),
        ("ascii_non_numeric.pgm", "malformed values", b"P2\n2 2\n255\n1 2 x 4\n", "non-numeric"),
        ("ascii_truncated.pgm", "truncated files", b"P2\n4 4\n255\n1 2 3\n", "truncated pixel data"),
        ("ascii_negative.pgm", "malformed values", b"P2\n2 2\n255\n1 -2 3 4\n", "outside 0..65535"),
        (
            "garbage_after_magic.pgm",
            "malformed values",
            b"P5" + bytes(rng.randrange(256) for _ in range(300)),
            "PGM header",
        ),
    ]
    for name, fault, data, match in cases:
        case(f"pgm/{name}", "image", fault, "MammogramReadError", match).write_bytes(data)


def _encapsulated(ds: FileDataset, syntax) -> FileDataset:
    ds.file_meta.TransferSyntaxUID = syntax
    ds.PixelData = encapsulate([bytes(ds.PixelData)])
    return ds


def write_dicom_cases() -> None:
    good = dicom_bytes(dicom_dataset())
    pixel_offset = good.rindex(b"\xe0\x7f\x10\x00")  # (7FE0,0010) PixelData tag, little endian
    rle = dicom_dataset()
    rle.compress(RLELossless, generate_instance_uid=False)
    no_bits = dicom_dataset()
    del no_bits.BitsStored
    no_pixels = dicom_dataset()
    del no_pixels.PixelData
    cases = [
        ("empty.dcm", "empty files", b"", "MammogramReadError", "empty file"),
        ("no_preamble.dcm", "wrong magic", good[132:], "MammogramReadError", "unknown image format"),
        ("garbage_after_magic.dcm", "wrong magic", good[:132] + bytes(range(256)) * 2, "MammogramReadError", ""),
        ("truncated_header.dcm", "truncated files", good[:200], "MammogramReadError", ""),
        ("truncated_pixels.dcm", "truncated files", good[:-200], "MammogramReadError", "pixel data"),
        ("cut_at_pixel_tag.dcm", "truncated files", good[: pixel_offset + 4], "MammogramReadError", ""),
        ("no_pixel_data.dcm", "missing pixel data", dicom_bytes(no_pixels), "MammogramReadError", "no pixel data"),
        ("missing_bits_stored.dcm", "missing pixel data", dicom_bytes(no_bits), "MammogramReadError", "incomplete"),
        (
            "absurd_rows.dcm",
            "absurd dimensions",
            dicom_bytes(dicom_dataset(Rows=60000, Columns=60000)),
            "MammogramReadError",
            "implausible image size",
        ),
        (
            "absurd_rows_rle.dcm",
            "absurd dimensions",
            dicom_bytes(_set(rle, Rows=40000, Columns=40000)),
            "MammogramReadError",
            "implausible image size",
        ),
        (
            "lying_rows.dcm",
            "absurd dimensions",
            dicom_bytes(dicom_dataset(Rows=4000, Columns=4000)),
            "MammogramReadError",
            "truncated pixel data",
        ),
        (
            "zero_rows.dcm",
            "absurd dimensions",
            dicom_bytes(dicom_dataset(Rows=0)),
            "MammogramReadError",
            "implausible image size",
        ),
        (
            "bits_allocated_12.dcm",
            "wrong bit depths",
            dicom_bytes(dicom_dataset(BitsAllocated=12)),
            "MammogramReadError",
            "Bits Allocated",
        ),
        (
            "bits_stored_0.dcm",
            "wrong bit depths",
            dicom_bytes(dicom_dataset(BitsStored=0, HighBit=0)),
            "MammogramReadError",
            "BitsStored 0",
        ),
        (
            "bits_stored_above_allocated.dcm",
            "wrong bit depths",
            dicom_bytes(dicom_dataset(BitsStored=17, HighBit=16)),
            "MammogramReadError",
            "BitsStored 17",
        ),
        (
            "one_bit_extra_frames.dcm",
            "wrong bit depths",
            dicom_bytes(
                dicom_dataset(
                    np.zeros((1, 16), np.uint16), BitsAllocated=1, BitsStored=1, HighBit=0, PixelData=bytes(16)
                )
            ),
            "MammogramReadError",
            "decoded pixel array has shape",
        ),
        (
            "rgb.dcm",
            "wrong bit depths",
            dicom_bytes(dicom_dataset(SamplesPerPixel=3, PhotometricInterpretation="RGB")),
            "MammogramReadError",
            "",
        ),
        (
            "palette.dcm",
            "wrong bit depths",
            dicom_bytes(dicom_dataset(PhotometricInterpretation="PALETTE COLOR")),
            "MammogramReadError",
            "not grayscale",
        ),
        (
            "unknown_syntax.dcm",
            "odd transfer syntaxes",
            dicom_bytes(_syntax(dicom_dataset(), "1.2.3.4.5.6")),
            "UnsupportedTransferSyntaxError",
            "1.2.3.4.5.6",
        ),
        (
            "jpeg_syntax_native_data.dcm",
            "odd transfer syntaxes",
            _with_syntax(good, JPEGBaseline8Bit),
            "MammogramReadError",
            "",
        ),
        (
            "jpeg_syntax_16bit.dcm",
            "odd transfer syntaxes",
            dicom_bytes(_encapsulated(dicom_dataset(), JPEGBaseline8Bit)),
            "MammogramReadError",
            "",
        ),
        (
            "missing_syntax.dcm",
            "odd transfer syntaxes",
            _without_syntax(good),
            "MammogramReadError",
            "TransferSyntaxUID",
        ),
        (
            "window_width_zero.dcm",
            "malformed values",
            dicom_bytes(dicom_dataset(WindowCenter=100, WindowWidth=0)),
            "MammogramReadError",
            "invalid VOI window",
        ),
        (
            "slope_overflow.dcm",
            "malformed values",
            dicom_bytes(dicom_dataset(RescaleSlope="1e400", RescaleIntercept=0)),
            "MammogramReadError",
            "non-finite",
        ),
        # odd but valid: must decode to REFERENCE / 4095
        (
            "deflated.dcm",
            "odd transfer syntaxes",
            dicom_bytes(_syntax(dicom_dataset(), DeflatedExplicitVRLittleEndian)),
            "ok",
            "",
        ),
        (
            "implicit_vr.dcm",
            "odd transfer syntaxes",
            dicom_bytes(_syntax(dicom_dataset(), ImplicitVRLittleEndian)),
            "ok",
            "",
        ),
        ("big_endian.dcm", "odd transfer syntaxes", _big_endian(), "ok", ""),
        ("rle.dcm", "odd transfer syntaxes", dicom_bytes(_rle()), "ok", ""),
        ("latin1_text_declared_utf8.dcm", "non-UTF-8 text", _latin1_text(), "ok", ""),
    ]
    for name, fault, data, expect, match in cases:
        kwargs = {"voi": "window"} if name == "window_width_zero.dcm" else {}
        case(f"dicom/{name}", "image", fault, expect, match, **kwargs).write_bytes(data)


def _set(ds: FileDataset, **attrs) -> FileDataset:
    for key, value in attrs.items():
        setattr(ds, key, value)
    return ds


def _syntax(ds: FileDataset, uid) -> FileDataset:
    ds.file_meta.TransferSyntaxUID = uid
    return ds


def _rle() -> FileDataset:
    ds = dicom_dataset()
    ds.compress(RLELossless, generate_instance_uid=False)  # fixed UIDs: the corpus is byte-for-byte reproducible
    return ds


def _big_endian() -> bytes:
    ds = dicom_dataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRBigEndian
    ds.PixelData = REFERENCE.astype(">u2").tobytes()
    buf = io.BytesIO()
    pydicom.dcmwrite(buf, ds, implicit_vr=False, little_endian=False, force_encoding=True)
    return buf.getvalue()


def _latin1_text() -> bytes:
    ds = dicom_dataset(SpecificCharacterSet="ISO_IR 192")
    value = "Müller^Zoë".encode("latin-1")  # not valid UTF-8, although the file declares UTF-8
    return _insert(ds, b"\x10\x00\x10\x00PN" + len(value).to_bytes(2, "little") + value)  # (0010,0010) PatientName


def _insert(ds: FileDataset, raw_element: bytes) -> bytes:
    """Serialise ``ds`` with ``raw_element`` spliced in tag order before (0028,0002)."""
    data = dicom_bytes(ds)
    anchor = data.index(b"\x28\x00\x02\x00")
    return data[:anchor] + raw_element + data[anchor:]


def _with_syntax(good: bytes, uid: str | None) -> bytes:
    """``good`` with its (0002,0010) TransferSyntaxUID element replaced by ``uid`` (removed if None), bytes only."""
    start = good.index(b"\x02\x00\x10\x00UI")
    length = int.from_bytes(good[start + 6 : start + 8], "little")
    element = b""
    if uid is not None:
        value = uid.encode() + (b"\0" if len(uid) % 2 else b"")
        element = b"\x02\x00\x10\x00UI" + len(value).to_bytes(2, "little") + value
    return good[:start] + element + good[start + 8 + length :]


def _without_syntax(good: bytes) -> bytes:
    return _with_syntax(good, None)


MIAS_HEADER = "MIAS database\n\nrefnum tissue class severity x y radius\n"


def write_mias_cases() -> None:
    rng = random.Random(1)
    good = "mdb001 G CIRC B 535 425 197\nmdb002 G CIRC B 522 280 69\nmdb003 D NORM\n"
    cases = [
        ("empty.txt", "empty files", b"", "AnnotationError", "no MIAS table rows"),
        ("binary_garbage.txt", "wrong magic", bytes(rng.randrange(256) for _ in range(2000)), "AnnotationError", ""),
        ("utf16.txt", "non-UTF-8 text", (MIAS_HEADER + good).encode("utf-16"), "AnnotationError", "no MIAS table rows"),
        ("latin1_header.txt", "non-UTF-8 text", ("Société MIAS ©\n" + good).encode("latin-1"), "ok", ""),
        ("crlf.txt", "malformed values", (MIAS_HEADER + good).replace("\n", "\r\n").encode(), "ok", ""),
        (
            "truncated_row.txt",
            "truncated files",
            (MIAS_HEADER + good + "mdb004 D").encode(),
            "AnnotationError",
            "line 7",
        ),
        ("unknown_tissue.txt", "malformed values", (good + "mdb004 X NORM\n").encode(), "AnnotationError", "tissue"),
        (
            "unknown_class.txt",
            "malformed values",
            (good + "mdb004 F BLOB B 1 1 1\n").encode(),
            "AnnotationError",
            "abnormality class",
        ),
        (
            "missing_severity.txt",
            "malformed values",
            (good + "mdb004 F CIRC 1 1 1\n").encode(),
            "AnnotationError",
            "severity",
        ),
        (
            "outside_image.txt",
            "absurd dimensions",
            (good + "mdb004 F CIRC B 2000 425 10\n").encode(),
            "AnnotationError",
            "outside",
        ),
        (
            "huge_coordinate.txt",
            "absurd dimensions",
            (good + "mdb004 F CIRC B 99999999999999999999 4 1\n").encode(),
            "AnnotationError",
            "integer",
        ),
        (
            "negative_radius.txt",
            "malformed values",
            (good + "mdb004 F CIRC B 5 4 -1\n").encode(),
            "AnnotationError",
            "integer",
        ),
        (
            "superscript_digit.txt",
            "non-UTF-8 text",
            (good + "mdb004 F CIRC B ³16 4 1\n").encode("latin-1"),
            "AnnotationError",
            "integer",
        ),
        (
            "norm_with_coordinates.txt",
            "malformed values",
            (good + "mdb004 F NORM B 1 1 1\n").encode(),
            "AnnotationError",
            "NORM",
        ),
        ("bad_refnum.txt", "malformed values", (good + "mdb4x F NORM\n").encode(), "AnnotationError", "malformed row"),
    ]
    for name, fault, data, expect, match in cases:
        case(f"mias/{name}", "mias_info", fault, expect, match).write_bytes(data)


CBIS_HEADER = (
    "patient_id,breast_density,left or right breast,image view,abnormality id,abnormality type,"
    "mass shape,mass margins,assessment,pathology,subtlety,image file path,"
    "cropped image file path,ROI mask file path\n"
)
CBIS_ROW = (
    "P_00001,3,LEFT,CC,1,mass,IRREGULAR-ARCHITECTURAL_DISTORTION,SPICULATED,4,MALIGNANT,4,"
    '"Mass-Training_P_00001_LEFT_CC/1.3.6/1.3.6/000000.dcm","Mass-Training_P_00001_LEFT_CC_1/1.3/1.3/'
    '000000.dcm\n","Mass-Training_P_00001_LEFT_CC_1/1.3/1.3/000001.dcm\n"\n'
)


def write_cbis_cases() -> None:
    rng = random.Random(2)
    cases = [
        ("empty.csv", "empty files", b"", "AnnotationError", "missing column"),
        ("header_only.csv", "truncated files", CBIS_HEADER.encode(), "ok", ""),
        ("binary_garbage.csv", "wrong magic", bytes(rng.randrange(256) for _ in range(3000)), "AnnotationError", ""),
        (
            "missing_column.csv",
            "malformed values",
            CBIS_HEADER.replace("image view,", "").encode(),
            "AnnotationError",
            "image_view",
        ),
        (
            "short_row.csv",
            "truncated files",
            (CBIS_HEADER + "P_00001,3,LEFT,CC\n").encode(),
            "AnnotationError",
            "fields",
        ),
        (
            "unterminated_quote.csv",
            "truncated files",
            (CBIS_HEADER + CBIS_ROW[:150]).encode(),
            "AnnotationError",
            "fields",
        ),
        (
            "bad_laterality.csv",
            "malformed values",
            (CBIS_HEADER + CBIS_ROW.replace("LEFT,CC", "MIDDLE,CC")).encode(),
            "AnnotationError",
            "laterality",
        ),
        (
            "bad_view.csv",
            "malformed values",
            (CBIS_HEADER + CBIS_ROW.replace("LEFT,CC", "LEFT,XX")).encode(),
            "AnnotationError",
            "view",
        ),
        (
            "bad_abnormality_id.csv",
            "malformed values",
            (CBIS_HEADER + CBIS_ROW.replace(",CC,1,", ",CC,one,")).encode(),
            "AnnotationError",
            "abnormality id",
        ),
        ("utf16.csv", "non-UTF-8 text", (CBIS_HEADER + CBIS_ROW).encode("utf-16"), "AnnotationError", "missing column"),
        (
            "latin1_field.csv",
            "non-UTF-8 text",
            (CBIS_HEADER + CBIS_ROW.replace("SPICULATED", "SPICULÉ")).encode("latin-1"),
            "ok",
            "",
        ),
        (
            "nul_bytes.csv",
            "malformed values",
            (CBIS_HEADER + CBIS_ROW.replace("P_00001,3", "P_0\x0001,3")).encode(),
            "ok",
            "",
        ),
        (
            "huge_field.csv",
            "absurd dimensions",
            (CBIS_HEADER + "P_00001," + "x" * 200_000 + "\n").encode(),
            "AnnotationError",
            "malformed CSV",
        ),
    ]
    for name, fault, data, expect, match in cases:
        case(f"cbis/{name}", "cbis_csv", fault, expect, match).write_bytes(data)


def main() -> None:
    for writer in (write_pgm_cases, write_dicom_cases, write_mias_cases, write_cbis_cases):
        writer()
    (HERE / "manifest.json").write_text(json.dumps(CASES, indent=1) + "\n")
    print(f"wrote {len(CASES)} cases to {HERE}", file=sys.stderr)


if __name__ == "__main__":
    main()
