"""Portable graymap (PGM) reading and writing, strict enough for research data.

MIAS distributes its mammograms as binary PGM (``P5``, 8-bit, 1024x1024). This module decodes
``P5`` (binary, 8- or 16-bit big-endian as the Netpbm specification requires) and ``P2`` (ASCII) files.
It validates the header against the file size *before* allocating, so a lying header can neither
allocate gigabytes nor yield silently wrong pixels: every failure is a
:class:`~monai_roigan.utils.errors.MammogramReadError` that names the file and the problem.

Arrays are (H, W), row 0 at the top of the image, in the file's integer type (``uint8`` when
``maxval < 256``, else ``uint16``); ``maxval`` is returned so callers can normalise by the documented rule
``value / maxval``.
"""

from __future__ import annotations

import os
from os import PathLike
from pathlib import Path

import numpy as np

from monai_roigan.data.limits import MAX_PIXELS, check_image_size
from monai_roigan.utils.errors import MammogramReadError

__all__ = ["read_pgm", "write_pgm", "PGM_MAGICS"]

PGM_MAGICS = (b"P5", b"P2")
_MAX_DIGITS = 10  # no header number of a valid file is longer; int() of a huge digit string is slow or refused


def _header_tokens(buf: bytes, path: str, count: int) -> tuple[list[int], int]:
    """Parse ``count`` whitespace-separated integers after the magic, skipping ``#`` comments.

    Returns the integers and the offset just past the single whitespace byte that ends the header.
    """
    values: list[int] = []
    pos = 2
    n = len(buf)
    while len(values) < count:
        while pos < n and buf[pos : pos + 1].isspace():
            pos += 1
        if pos < n and buf[pos : pos + 1] == b"#":
            while pos < n and buf[pos : pos + 1] not in (b"\n", b"\r"):
                pos += 1
            continue
        start = pos
        while pos < n and buf[pos : pos + 1].isdigit() and pos - start <= _MAX_DIGITS:
            pos += 1
        if pos - start > _MAX_DIGITS:
            raise MammogramReadError(path, f"malformed PGM header: number at byte {start} has too many digits")
        if start == pos:
            if pos >= n:
                raise MammogramReadError(path, "truncated PGM header (file ends inside the header)")
            raise MammogramReadError(path, f"malformed PGM header: expected a number at byte {start}")
        values.append(int(buf[start:pos]))
    if pos >= n or not buf[pos : pos + 1].isspace():
        raise MammogramReadError(path, "truncated PGM header (no whitespace after maxval)")
    return values, pos + 1


def _check_header(path: str, width: int, height: int, maxval: int, max_pixels: int) -> None:
    check_image_size(path, height, width, max_pixels)
    if not 0 < maxval <= 65535:
        raise MammogramReadError(path, f"PGM maxval {maxval} outside 1..65535")


def read_pgm(path: str | PathLike, max_pixels: int = MAX_PIXELS) -> tuple[np.ndarray, int]:
    """Read a PGM file.

    Args:
        path: file path.
        max_pixels: refuse headers promising more pixels (width x height).

    Returns:
        ``(array, maxval)``: array of shape (H, W), ``uint8`` or ``uint16``, values in [0, maxval].

    Raises:
        FileNotFoundError: the file does not exist.
        MammogramReadError: wrong magic number, malformed or truncated header, implausible dimensions,
            truncated pixel data, or values above ``maxval``.
    """
    path = os.fspath(path)
    buf = Path(path).read_bytes()
    magic = buf[:2]
    if magic not in PGM_MAGICS:
        raise MammogramReadError(path, f"not a PGM file (magic number {magic!r}, expected b'P5' or b'P2')")
    (width, height, maxval), offset = _header_tokens(buf, path, 3)
    _check_header(path, width, height, maxval, max_pixels)
    dtype = np.uint8 if maxval < 256 else np.dtype(">u2")
    if magic == b"P5":
        needed = width * height * np.dtype(dtype).itemsize
        if len(buf) - offset < needed:
            raise MammogramReadError(
                path, f"truncated pixel data: {len(buf) - offset} bytes for {width}x{height} needing {needed}"
            )
        array = np.frombuffer(buf, dtype=dtype, count=width * height, offset=offset)
    else:
        array = _read_ascii_pixels(buf[offset:], path, width * height)
    array = array.reshape(height, width).astype(np.uint8 if maxval < 256 else np.uint16)
    if int(array.max()) > maxval:
        raise MammogramReadError(path, f"pixel value {int(array.max())} exceeds the header's maxval {maxval}")
    return array, maxval


def _read_ascii_pixels(body: bytes, path: str, count: int) -> np.ndarray:
    lines = [line.split(b"#", 1)[0] for line in body.splitlines()]
    tokens = b" ".join(lines).split()
    if len(tokens) < count:
        raise MammogramReadError(path, f"truncated pixel data: {len(tokens)} of {count} values present")
    try:
        values = np.array([int(t) for t in tokens[:count]], dtype=np.int64)
    except ValueError as err:
        raise MammogramReadError(path, f"non-numeric pixel value in P2 data ({err})") from None
    if values.min() < 0 or values.max() > 65535:
        raise MammogramReadError(path, "P2 pixel value outside 0..65535")
    return values


def write_pgm(path: str | PathLike, array: np.ndarray, maxval: int | None = None, comment: str | None = None) -> Path:
    """Write a binary (``P5``) PGM file, 8-bit for ``uint8`` input and 16-bit big-endian for ``uint16``.

    Args:
        path: output path; parent folders must exist.
        array: (H, W) ``uint8`` or ``uint16`` array, row 0 is the top of the image.
        maxval: header maxval; defaults to 255 or 65535 by dtype.
        comment: optional single-line header comment.
    """
    array = np.asarray(array)
    if array.ndim != 2 or array.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"write_pgm needs a 2-D uint8 or uint16 array, got {array.dtype} {array.shape}")
    maxval = maxval if maxval is not None else (255 if array.dtype == np.uint8 else 65535)
    header = b"P5\n"
    if comment:
        header += b"# " + comment.replace("\n", " ").encode("ascii", "replace") + b"\n"
    header += f"{array.shape[1]} {array.shape[0]}\n{maxval}\n".encode("ascii")
    data = array.astype(np.uint8 if maxval < 256 else ">u2").tobytes()
    path = Path(path)
    path.write_bytes(header + data)
    return path
