"""Every file of the malformed-input corpus (tests/data/malformed) gets the package's own, documented error.

The corpus and its manifest are written by ``tests/data/malformed/make_corpus.py``. For each case the reader
must raise exactly the expected exception class (never a crash of another type, a hang or a MemoryError),
with the file's path and the expected fragment in the message, and without allocating what a lying header
promises. Odd but valid files (``expect: ok``) must decode to the right values.
"""

import json
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import monai_roigan.utils.errors as errors
from monai_roigan.data import parse_mias_info, read_cbis_ddsm_csv
from monai_roigan.transforms import LoadMammogram

CORPUS = Path(__file__).resolve().parent / "data" / "malformed"
CASES = json.loads((CORPUS / "manifest.json").read_text())
REFERENCE = (np.arange(16 * 16, dtype=np.float32) * 13 % 4096).reshape(16, 16) / 4095.0
#: Peak Python-tracked allocation allowed while reading one corpus file. The lying headers promise 1.6 to
#: 7.2 GB; the largest honest allocation is a codec buffer for a 4000x4000 header that passes the size cap.
PEAK_LIMIT = 256 * 2**20


def read(reader: str, path: Path, kwargs: dict):
    if reader == "image":
        return LoadMammogram(**kwargs)(path)
    if reader == "mias_info":
        return parse_mias_info(path)
    return read_cbis_ddsm_csv(path)


def test_manifest_covers_every_reader_and_fault():
    assert {c["reader"] for c in CASES} == {"image", "mias_info", "cbis_csv"}
    faults = {c["fault"] for c in CASES}
    assert {
        "truncated files",
        "wrong magic",
        "absurd dimensions",
        "wrong bit depths",
        "missing pixel data",
        "odd transfer syntaxes",
        "non-UTF-8 text",
        "empty files",
    } <= faults
    assert all((CORPUS / c["file"]).is_file() for c in CASES)


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_corpus_case(case):
    path = CORPUS / case["file"]
    tracemalloc.start()
    try:
        if case["expect"] == "ok":
            result = read(case["reader"], path, case["kwargs"])
        else:
            expected = getattr(errors, case["expect"])
            with pytest.raises(expected) as info:
                read(case["reader"], path, case["kwargs"])
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < PEAK_LIMIT, f"{path.name}: peak allocation {peak / 2**20:.0f} MiB"
    if case["expect"] != "ok":
        assert type(info.value) is expected, f"{type(info.value).__name__} instead of {case['expect']}"
        assert str(path) in str(info.value) and case["match"] in str(info.value)
    elif case["reader"] == "image":  # the odd-but-valid DICOMs all hold the 12-bit reference image
        np.testing.assert_allclose(result[0].numpy(), REFERENCE, atol=1e-6)
    elif case["reader"] == "mias_info":
        assert [r.refnum for r in result] == ["mdb001", "mdb002", "mdb003"]
        assert result[0].center == (1024 - 425, 535)
    else:  # a header-only CSV has no rows; the others hold one valid row, odd bytes replaced
        assert len(result) == (0 if "header_only" in case["file"] else 1)
        assert all(r.patient_id.startswith("P_0") and r.laterality == "L" for r in result)
