"""``LoadMammogram`` (one mammogram file into a MetaTensor) and ``SaveSyntheticDICOM`` (a synthetic ROI to DICOM)."""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike
from pathlib import Path

import numpy as np
from monai.data import ImageReader, MetaTensor
from monai.transforms import EnsureChannelFirst, Transform
from monai.utils import ImageMetaKey, convert_to_dst_type, ensure_tuple

from monai_roigan.data.dicom_writer import SyntheticSeries, synthetic_dicom_dataset, write_synthetic_dicom
from monai_roigan.data.image_reader import MammogramReader
from monai_roigan.data.limits import MAX_PIXELS

__all__ = ["LoadMammogram", "SaveSyntheticDICOM"]


class LoadMammogram(Transform):
    """Load a PGM, DICOM, PNG or TIFF mammogram as a channel-first MetaTensor (1, H, W), float32 in [0, 1].

    Row 0 is the top of the image as displayed; dense tissue is bright (DICOM MONOCHROME1 is inverted).
    ``.meta`` holds ``source_path``, ``format``, ``bits_stored``, ``spacing`` ((row, col) in mm or
    ``"unknown"``), ``laterality``, ``view``, ``intensity_rule`` (see
    :class:`~monai_roigan.data.image_reader.MammogramReader` for the rule per format) and MONAI's
    ``filename_or_obj``, ``affine`` and ``spatial_shape``.

    It does what ``LoadImage(reader=MammogramReader(), image_only=True, ensure_channel_first=True)`` does
    (which also works), without constructing MONAI's other readers and without its reader-fallback loop, so a
    bad file raises :class:`~monai_roigan.utils.errors.MammogramReadError` naming the file and the problem.

    Args:
        voi: DICOM VOI handling: ``"none"`` (full stored range), ``"window"``, ``"lut"`` or ``"auto"``.
        window: explicit DICOM window ``(center, width)``.
        pgm_spacing: spacing in mm reported for PGM files (MIAS: 0.2).
        dtype: output dtype (default float32).
        max_pixels: refuse files whose header promises more pixels (height x width), before decoding
            (default :data:`~monai_roigan.data.limits.MAX_PIXELS`).
    """

    def __init__(
        self,
        voi: str = "none",
        window: tuple[float, float] | None = None,
        pgm_spacing: float | None = 0.2,
        dtype=np.float32,
        max_pixels: int = MAX_PIXELS,
    ):
        self.reader = MammogramReader(voi=voi, window=window, pgm_spacing=pgm_spacing, max_pixels=max_pixels)
        self.dtype = dtype
        self.channel_first = EnsureChannelFirst()

    def __call__(self, filename: Sequence[PathLike] | PathLike, reader: ImageReader | None = None) -> MetaTensor:
        filenames = tuple(str(Path(f).expanduser()) for f in ensure_tuple(filename))
        reader = reader or self.reader
        array, meta = reader.get_data(reader.read(filenames))
        array = convert_to_dst_type(array, dst=array, dtype=self.dtype)[0]
        meta[ImageMetaKey.FILENAME_OR_OBJ] = filenames[0]
        image = MetaTensor.ensure_torch_and_prune_meta(array, meta)
        return self.channel_first(image, meta_dict=meta)


class SaveSyntheticDICOM(Transform):
    """Write a synthetic ROI as a DICOM Secondary Capture file marked SYNTHETIC (see
    :mod:`~monai_roigan.data.dicom_writer`).

    The input is a MetaTensor (1, H, W) or (H, W) in [-1, 1] whose meta carries ``synthetic=True`` and the
    ``synthetic_class``, ``synthetic_seed``, ``synthetic_index`` and ``synthetic_generator`` keys that
    :class:`~monai_roigan.transforms.SyntheticROIAugment` sets. Nothing else of the meta is written, so no
    attribute of a source image (patient, study, file name) can reach the file. A real (non-synthetic) image
    is refused: this writer would label it synthetic.

    Files go to ``output_dir/<class>/<class>_s<seed>_<index>.dcm`` (``..._d<draw>.dcm`` for a draw from the
    augmentation's pool, ``synthetic_draw`` >= 0, so two draws of one pool ROI are two files); every file written by
    one instance
    belongs to one study, each class to one series. The written path is stored in ``meta["saved_to"]``.

    Args:
        output_dir: output folder.
        spacing_mm: ``PixelSpacing`` written when the meta has no ``spacing_mm``.
        uid_prefix: root for the generated UIDs (default pydicom's).
    """

    def __init__(self, output_dir: str | PathLike, spacing_mm: float = 0.4, uid_prefix: str | None = None):
        self.output_dir = Path(output_dir)
        self.spacing_mm = spacing_mm
        self.series = SyntheticSeries(uid_prefix=uid_prefix)

    def __call__(self, img: MetaTensor) -> MetaTensor:
        meta = getattr(img, "meta", {})
        if meta.get("synthetic") is not True:
            raise ValueError(
                "SaveSyntheticDICOM writes synthetic ROIs only; this image's meta has no synthetic=True "
                f"(source {meta.get('filename_or_obj', 'unknown')!r})"
            )
        name = meta["synthetic_class"]
        seed = int(meta["synthetic_seed"])
        index = int(meta["synthetic_index"])
        spacing = float(meta.get("spacing_mm", self.spacing_mm))
        array = np.asarray(img.detach().cpu().numpy() if hasattr(img, "detach") else img, dtype=np.float32)
        dataset = synthetic_dicom_dataset(
            array, name, seed, index, str(meta["synthetic_generator"]), self.series, spacing_mm=spacing
        )
        draw = int(meta.get("synthetic_draw", -1))  # >= 0: one of several draws of a pool ROI
        stem = f"{name}_s{seed}_{index:05d}" + (f"_d{draw}" if draw >= 0 else "")
        path = write_synthetic_dicom(self.output_dir / name / f"{stem}.dcm", dataset)
        img.meta["saved_to"] = str(path)
        return img
