import numpy as np
import pytest

from monai_roigan.data.pgm import read_pgm, write_pgm
from monai_roigan.utils.errors import MammogramReadError


@pytest.mark.parametrize("dtype,maxval", [(np.uint8, 255), (np.uint16, 65535), (np.uint16, 4095)])
def test_round_trip_preserves_values(tmp_path, dtype, maxval):
    rng = np.random.default_rng(0)
    image = rng.integers(0, maxval + 1, size=(37, 53)).astype(dtype)
    write_pgm(tmp_path / "a.pgm", image, maxval=maxval, comment="test image")
    back, read_max = read_pgm(tmp_path / "a.pgm")
    assert read_max == maxval and back.shape == (37, 53)
    np.testing.assert_array_equal(back, image)


def test_16_bit_is_big_endian(tmp_path):
    write_pgm(tmp_path / "a.pgm", np.array([[258]], dtype=np.uint16))
    assert (tmp_path / "a.pgm").read_bytes()[-2:] == b"\x01\x02"


def test_ascii_p2_with_comments(tmp_path):
    (tmp_path / "a.pgm").write_bytes(b"P2\n# a comment\n3 2\n# another\n15\n0 1 2\n13 14 15\n")
    image, maxval = read_pgm(tmp_path / "a.pgm")
    assert maxval == 15
    np.testing.assert_array_equal(image, [[0, 1, 2], [13, 14, 15]])


def test_real_mias_file(mias_dir):
    image, maxval = read_pgm(mias_dir / "mdb001.pgm")
    assert image.shape == (1024, 1024) and image.dtype == np.uint8 and maxval == 255
    assert image.max() > 200 and image[0:50, 0:50].mean() < 30  # bright breast, dark film corner


@pytest.mark.parametrize(
    "content,problem",
    [
        (b"P6\n2 2\n255\n" + bytes(12), "not a PGM"),
        (b"", "not a PGM"),
        (b"P5\n1024 1024\n255\n" + bytes(1000), "truncated pixel data"),
        (b"P5\n1024 10", "truncated PGM header"),
        (b"P5\nabc 10\n255\n", "malformed PGM header"),
        (b"P5\n99999999 99999999\n255\n" + bytes(10), "implausible image size"),
        (b"P5\n2 1\n0\n\x00\x00", "maxval"),
        (b"P5\n2 1\n100\n\x00\xff", "exceeds the header's maxval"),
        (b"P2\n2 2\n255\n1 2 3\n", "truncated pixel data"),
        (b"P2\n2 1\n255\n1 x\n", "non-numeric"),
    ],
)
def test_bad_files_raise_named_errors(tmp_path, content, problem):
    path = tmp_path / "bad.pgm"
    path.write_bytes(content)
    with pytest.raises(MammogramReadError, match=problem) as info:
        read_pgm(path)
    assert str(path) in str(info.value)


def test_write_rejects_float(tmp_path):
    with pytest.raises(ValueError, match="uint8 or uint16"):
        write_pgm(tmp_path / "a.pgm", np.zeros((2, 2), dtype=np.float32))
