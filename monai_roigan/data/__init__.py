"""Mammogram files, dataset readers (MIAS, CBIS-DDSM, annotation tables), the phantom and the ROI cache."""

from .annotations import annotation_datalist, read_roi_table
from .cbis_ddsm import CBIS_SHAPE_CLASSES, CBISRecord, cbis_ddsm_datalist, read_cbis_ddsm_csv, resolve_cbis_path
from .classes import ABNORMALITY_CLASSES, ALL_CLASSES, DEFAULT_MIAS_CLASS_MAP, NORMAL_CLASS, class_label
from .dicom import read_dicom_mammogram
from .dicom_folder import crawl_dicom_folder, join_annotations, write_dicom_datalist
from .dicom_writer import SyntheticSeries, synthetic_dicom_dataset, write_synthetic_dicom
from .image_reader import MammogramReader, sniff_format
from .mias import MIASRecord, mias_datalist, parse_mias_info
from .pgm import read_pgm, write_pgm
from .raster import read_raster
from .roi_cache import ROICache, load_roi_cache, roi_cache_datalist, write_roi_cache

# These modules use monai_roigan.transforms, whose readers use this package: they load on first use (PEP 562)
# so that importing monai_roigan.transforms first works.
_LAZY = {
    "dihedral_variants": "prepare",
    "prepare_roi_dataset": "prepare",
    "training_datalist": "training_data",
    "training_rois": "training_data",
    "read_datalist_file": "training_data",
    "SyntheticBalancedDataset": "synthetic_dataset",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ABNORMALITY_CLASSES",
    "ALL_CLASSES",
    "CBISRecord",
    "CBIS_SHAPE_CLASSES",
    "DEFAULT_MIAS_CLASS_MAP",
    "MIASRecord",
    "MammogramReader",
    "NORMAL_CLASS",
    "ROICache",
    "SyntheticSeries",
    "SyntheticBalancedDataset",
    "annotation_datalist",
    "cbis_ddsm_datalist",
    "class_label",
    "crawl_dicom_folder",
    "dihedral_variants",
    "join_annotations",
    "load_roi_cache",
    "mias_datalist",
    "parse_mias_info",
    "prepare_roi_dataset",
    "read_cbis_ddsm_csv",
    "read_datalist_file",
    "read_dicom_mammogram",
    "read_pgm",
    "read_raster",
    "read_roi_table",
    "resolve_cbis_path",
    "roi_cache_datalist",
    "sniff_format",
    "synthetic_dicom_dataset",
    "training_datalist",
    "training_rois",
    "write_dicom_datalist",
    "write_pgm",
    "write_roi_cache",
    "write_synthetic_dicom",
]
