"""Mammogram files, dataset readers (MIAS, CBIS-DDSM, annotation tables), the phantom and the ROI cache."""

from .annotations import annotation_datalist, read_roi_table
from .cbis_ddsm import CBIS_SHAPE_CLASSES, CBISRecord, cbis_ddsm_datalist, read_cbis_ddsm_csv, resolve_cbis_path
from .classes import ABNORMALITY_CLASSES, ALL_CLASSES, DEFAULT_MIAS_CLASS_MAP, NORMAL_CLASS, class_label
from .dicom import read_dicom_mammogram
from .image_reader import MammogramReader, sniff_format
from .mias import MIASRecord, mias_datalist, parse_mias_info
from .pgm import read_pgm, write_pgm
from .prepare import dihedral_variants, prepare_roi_dataset
from .raster import read_raster
from .roi_cache import ROICache, load_roi_cache, roi_cache_datalist, write_roi_cache
from .training_data import training_datalist, training_rois

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
    "annotation_datalist",
    "cbis_ddsm_datalist",
    "class_label",
    "dihedral_variants",
    "load_roi_cache",
    "mias_datalist",
    "parse_mias_info",
    "prepare_roi_dataset",
    "read_cbis_ddsm_csv",
    "read_dicom_mammogram",
    "read_pgm",
    "read_raster",
    "read_roi_table",
    "resolve_cbis_path",
    "roi_cache_datalist",
    "sniff_format",
    "training_datalist",
    "training_rois",
    "write_pgm",
    "write_roi_cache",
]
