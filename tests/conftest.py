"""Shared fixtures: the real reference data beside the checkout, synthetic DICOM files, a small phantom."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("MONAI_ROIGAN_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def mias_dir() -> Path:
    """The real (partial) MIAS copy in ../shared/data/mias; tests using it skip when it is absent."""
    path = SHARED_DATA / "mias"
    if not (path / "Info.txt").is_file():
        pytest.skip(f"real MIAS reference data not found at {path}")
    return path


@pytest.fixture(scope="session")
def cbis_dir() -> Path:
    path = SHARED_DATA / "cbis-ddsm"
    if not path.is_dir():
        pytest.skip(f"real CBIS-DDSM reference data not found at {path}")
    return path


@pytest.fixture(scope="session")
def phantom_dir(tmp_path_factory) -> Path:
    """A small phantom dataset in MIAS layout (12 images, seed 0), shared by the session."""
    from monai_roigan.data.phantom import make_phantom_dataset

    return make_phantom_dataset(tmp_path_factory.mktemp("phantom"), num_images=12, seed=0)


def write_dicom(path: Path, pixels: np.ndarray, **attrs) -> Path:
    """Write a single-frame grayscale DICOM (Explicit VR Little Endian unless compressed later).

    ``attrs`` set or override attributes (e.g. ``BitsStored=12``, ``PhotometricInterpretation="MONOCHROME1"``).
    """
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.Modality = "MG"
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16 if pixels.dtype.itemsize == 2 else 8
    ds.BitsStored = ds.BitsAllocated
    ds.HighBit = ds.BitsAllocated - 1
    ds.PixelRepresentation = 1 if pixels.dtype.kind == "i" else 0
    ds.PixelData = pixels.tobytes()
    for key, value in attrs.items():
        setattr(ds, key, value)
    if "HighBit" not in attrs:
        ds.HighBit = int(ds.BitsStored) - 1
    ds.save_as(path, enforce_file_format=True)
    return path


@pytest.fixture
def dicom_factory(tmp_path):
    counter = iter(range(10_000))

    def make(pixels: np.ndarray, **attrs) -> Path:
        return write_dicom(tmp_path / f"image_{next(counter)}.dcm", pixels, **attrs)

    return make
