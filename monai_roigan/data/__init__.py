"""Mammogram files, dataset readers (MIAS, CBIS-DDSM, annotation tables, DICOM folders), the phantom, the ROI
cache, splits by mammogram and the dihedral copies of ROIs: the bottom layer above ``utils`` (it imports no other
subpackage)."""

from .annotations import annotation_datalist, read_roi_table
from .cbis_ddsm import CBIS_SHAPE_CLASSES, CBISRecord, cbis_ddsm_datalist, read_cbis_ddsm_csv, resolve_cbis_path
from .classes import ABNORMALITY_CLASSES, ALL_CLASSES, DEFAULT_MIAS_CLASS_MAP, NORMAL_CLASS, class_label
from .datalist import keep_existing_images, read_datalist_file
from .datasets import DATASETS, dataset_datalist
from .dicom import read_dicom_mammogram
from .dicom_folder import crawl_dicom_folder, join_annotations, write_dicom_datalist
from .dicom_writer import SyntheticSeries, synthetic_dicom_dataset, write_synthetic_dicom
from .dihedral import AUGMENT_MODES, dihedral_variants
from .image_reader import MammogramReader, sniff_format
from .mias import MIASRecord, mias_datalist, mias_woman, parse_mias_info
from .pgm import read_pgm, write_pgm
from .raster import read_raster
from .roi_cache import ROICache, load_roi_cache, roi_cache_datalist, write_roi_cache

__all__ = [
    "AUGMENT_MODES",
    "DATASETS",
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
    "annotation_datalist",
    "cbis_ddsm_datalist",
    "dataset_datalist",
    "class_label",
    "crawl_dicom_folder",
    "dihedral_variants",
    "join_annotations",
    "keep_existing_images",
    "load_roi_cache",
    "mias_datalist",
    "mias_woman",
    "parse_mias_info",
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
    "write_dicom_datalist",
    "write_pgm",
    "write_roi_cache",
    "write_synthetic_dicom",
]
