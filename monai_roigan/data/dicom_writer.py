"""Synthetic ROIs as DICOM Secondary Capture objects that can never be mistaken for a patient's image.

One file per ROI, Secondary Capture Image Storage (1.2.840.10008.5.1.4.1.1.7), explicit VR little endian.
A generation run is one study; each class is one series; ``InstanceNumber`` is the ROI index + 1. What
marks the object as synthetic:

- ``ConversionType`` ``SYN`` (the DICOM defined term for *synthetic image*), ``ImageType``
  ``DERIVED\\SECONDARY``, ``BurnedInAnnotation`` ``NO``;
- ``SeriesDescription`` and ``ImageComments`` starting with ``SYNTHETIC``, naming the generator (bundle
  version and weights sha256), the class, the seed and the index; ``DerivationDescription`` saying how;
- a patient module of explicit placeholders (``PatientName`` ``SYNTHETIC^ROI``, ``PatientID`` ``SYNTHETIC``,
  empty birth date, sex ``O``), ``PatientIdentityRemoved`` ``YES``;
- ``Modality`` ``OT``, never ``MG``: a crawler looking for mammograms (:mod:`monai_roigan.data.dicom_folder`)
  does not pick synthetic objects up as patient images.

Nothing is ever copied from a source image: the writer takes pixels and the ``synthetic_*`` keys only.
UIDs are fresh (:func:`pydicom.uid.generate_uid`, under ``uid_prefix``, default pydicom's root).

Pixel mapping: intensities ``x`` in [-1, 1] are stored as unsigned 16-bit
``round((x + 1) / 2 * 65535)`` (``BitsStored`` 16, ``MONOCHROME2``), so reading back with
:class:`~monai_roigan.transforms.LoadMammogram` (``value / 65535``) and mapping ``2 v - 1`` restores ``x``
within 1/65535. ``PixelSpacing`` is the ROI's spacing in mm (default 0.4: a 128-pixel MIAS window at 64 px).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

from monai_roigan.utils.atomic import atomic_write

__all__ = ["SyntheticSeries", "synthetic_dicom_dataset", "write_synthetic_dicom", "to_uint16", "PLACEHOLDER_PATIENT"]

#: The patient module of every synthetic object: explicit placeholders, never a real identity.
PLACEHOLDER_PATIENT = {
    "PatientName": "SYNTHETIC^ROI",
    "PatientID": "SYNTHETIC",
    "PatientBirthDate": "",
    "PatientSex": "O",
    "PatientIdentityRemoved": "YES",
    "DeidentificationMethod": "SYNTHETIC IMAGE: generated, no patient data",
}


def _package_version() -> str:
    from monai_roigan import __version__

    return __version__


@dataclass
class SyntheticSeries:
    """The UIDs shared by the objects of one generation run: one study, one series per class.

    Args:
        uid_prefix: root for generated UIDs (an organisation's registered root; default pydicom's).
        description: ``StudyDescription``.
    """

    uid_prefix: str | None = None
    description: str = "SYNTHETIC ROIs (monai-roigan)"
    study_uid: str = ""
    created: datetime.datetime = field(default_factory=datetime.datetime.now)
    _series: dict = field(default_factory=dict)

    def __post_init__(self):
        self.study_uid = self.study_uid or generate_uid(prefix=self.uid_prefix)

    def series(self, class_name: str) -> tuple[str, int]:
        """(SeriesInstanceUID, SeriesNumber) of ``class_name``'s series, created on first use."""
        if class_name not in self._series:
            self._series[class_name] = (generate_uid(prefix=self.uid_prefix), len(self._series) + 1)
        return self._series[class_name]


def to_uint16(image: np.ndarray) -> np.ndarray:
    """[-1, 1] intensities (values outside are clipped) to stored values ``round((x + 1) / 2 * 65535)``."""
    image = np.asarray(image, dtype=np.float64)
    if not np.isfinite(image).all():
        raise ValueError("synthetic ROI has non-finite intensities; refusing to write it")
    return np.rint((np.clip(image, -1.0, 1.0) + 1.0) / 2.0 * 65535.0).astype(np.uint16)


def synthetic_dicom_dataset(
    image: np.ndarray,
    class_name: str,
    seed: int,
    index: int,
    generator: str,
    series: SyntheticSeries,
    spacing_mm: float = 0.4,
) -> FileDataset:
    """A Secondary Capture dataset for one synthetic ROI (see the module docstring for every tag).

    Args:
        image: (H, W) or (1, H, W) intensities in [-1, 1], row 0 at the top.
        class_name: the ROI's class.
        seed, index: the generation seed and the ROI's index (they reproduce it with the same generator).
        generator: the generator's identity, e.g. ``"monai-roigan bundle 0.3.0 sha256:1a2b3c4d5e6f"``
            (:func:`~monai_roigan.networks.describe_weights`).
        series: the run's study and per-class series UIDs.
        spacing_mm: pixel spacing in mm.
    """
    pixels = to_uint16(np.squeeze(np.asarray(image)))
    if pixels.ndim != 2:
        raise ValueError(f"expected one 2-D ROI, got shape {np.shape(image)}")
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid(prefix=series.uid_prefix)
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset("", {}, file_meta=meta, preamble=b"\0" * 128)
    _set_identity(ds, series, class_name, generator, seed, index)
    _set_pixels(ds, pixels, spacing_mm)
    return ds


def _set_identity(ds: FileDataset, series: SyntheticSeries, class_name, generator, seed, index) -> None:
    series_uid, series_number = series.series(class_name)
    date, time = series.created.strftime("%Y%m%d"), series.created.strftime("%H%M%S")
    what = f"generator={generator} class={class_name} seed={seed} index={index}"
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID, ds.SOPInstanceUID = SecondaryCaptureImageStorage, ds.file_meta.MediaStorageSOPInstanceUID
    for key, value in PLACEHOLDER_PATIENT.items():
        setattr(ds, key, value)
    ds.StudyInstanceUID = series.study_uid
    ds.StudyID = "SYNTHETIC"
    ds.StudyDescription = series.description
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = date
    ds.StudyTime = ds.SeriesTime = ds.ContentTime = time
    ds.AccessionNumber, ds.ReferringPhysicianName = "", ""
    ds.SeriesInstanceUID = series_uid
    ds.SeriesNumber = series_number
    ds.InstanceNumber = int(index) + 1
    # Laterality (Type 2C) stays present and empty: the ROI shows breast tissue (a paired part) but comes from no
    # breast, so its side is unknown. Left out, dciodvfy reports a missing required attribute; L/R would be invented.
    ds.Modality = "OT"
    ds.Laterality = ""
    ds.PatientOrientation = ""
    ds.SeriesDescription = f"SYNTHETIC {class_name} ROIs (monai-roigan)"[:64]
    ds.ConversionType = "SYN"
    ds.Manufacturer = ds.SecondaryCaptureDeviceManufacturer = "monai-roigan"
    ds.SecondaryCaptureDeviceManufacturerModelName = "ROI-mammoGAN generator"
    ds.SoftwareVersions = ds.SecondaryCaptureDeviceSoftwareVersions = f"monai-roigan {_package_version()}"
    ds.ImageType = ["DERIVED", "SECONDARY"]
    ds.BurnedInAnnotation = "NO"
    ds.ImageComments = f"SYNTHETIC IMAGE, not a patient. {what}"
    ds.DerivationDescription = f"Synthesized by a class-conditional GAN (ROI-mammoGAN); {what}"[:1024]


def _set_pixels(ds: FileDataset, pixels: np.ndarray, spacing_mm: float) -> None:
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows, ds.Columns = pixels.shape
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.PixelSpacing = [f"{spacing_mm:.6g}", f"{spacing_mm:.6g}"]
    ds.WindowCenter, ds.WindowWidth = "32767.5", "65536"
    ds.LossyImageCompression = "00"
    ds.PixelData = pixels.astype("<u2").tobytes()


def write_synthetic_dicom(path: str | PathLike, dataset: FileDataset) -> Path:
    """Write ``dataset`` to ``path`` atomically (a temporary file, then a rename), as a conformant DICOM file."""
    return atomic_write(path, lambda tmp: pydicom.dcmwrite(tmp, dataset, enforce_file_format=True))
