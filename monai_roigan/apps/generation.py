"""Generate ROIs of a class from a trained generator: in memory with :func:`generate` (one call, a MetaTensor
batch), or per class to PNG, NIfTI or DICOM files with :func:`generate_rois`.

Each ROI ``k`` of class ``c`` has its own latent vector (:func:`~monai_roigan.networks.sampling.latent_for`),
drawn from a stream keyed by ``(seed, c, k)``, so
the same seed gives the same images whatever the batch size, and a run split into shards (disjoint ``k``
ranges) writes exactly the files of a single run. Under ``torchrun`` each rank takes every world-size-th
index (:func:`~monai_roigan.utils.distributed.shard_indices`); the ranks share one DICOM study and its
per-class series, and rank 0 writes the manifest of all ranks.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from os import PathLike
from pathlib import Path

import ignite.distributed as idist
import nibabel as nib
import numpy as np
import torch
from monai.data import MetaTensor
from monai.data.utils import collate_meta_tensor
from torch import nn

from monai_roigan.data.classes import ABNORMALITY_CLASSES
from monai_roigan.data.dicom_writer import SyntheticSeries, synthetic_dicom_dataset, write_synthetic_dicom
from monai_roigan.networks.inference import inference_network
from monai_roigan.networks.sampling import check_truncation, synthesize
from monai_roigan.networks.source import GeneratorSource, as_generator_source
from monai_roigan.transforms.synthetic import synthetic_meta
from monai_roigan.utils.distributed import broadcast_object, gather_objects, shard_indices
from monai_roigan.utils.progress import progress
from monai_roigan.utils.visualize import save_png, to_uint8

__all__ = ["generate", "generate_rois", "as_formats", "OUTPUT_FORMATS"]

OUTPUT_FORMATS = ("png", "nifti", "dicom")

logger = logging.getLogger("monai_roigan.generation")


def as_formats(value, default: Sequence[str] = ("png", "nifti")) -> list[str]:
    """Output formats from a command-line value: ``"dicom"``, ``"png,dicom"`` or a list (MONAI's CLI parses
    ``png,dicom`` into a tuple); ``None`` or empty gives ``default``."""
    if not value:
        return list(default)
    names = value.split(",") if isinstance(value, str) else [str(v) for v in value]
    return [n.strip().lower() for n in names if n.strip()]


def generate(
    generator: str | PathLike | nn.Module | GeneratorSource,
    class_name: str | int,
    num_samples: int,
    seed: int = 0,
    class_names: Sequence[str] = ABNORMALITY_CLASSES,
    truncation: float = 1.0,
    latent_distribution: str = "uniform",
    spacing_mm: float = 0.4,
    batch_size: int = 64,
    device="cpu",
) -> MetaTensor:
    """``num_samples`` synthetic ROIs of one class, in one call.

    ROI ``k`` (0-based) is the image :func:`generate_rois` writes as ``<class>_<k>`` for the same seed and
    truncation (its latent is :func:`~monai_roigan.networks.sampling.latent_for` of seed, class and ``k``).

    Args:
        generator: a bundle folder (its ``models/model.pt``), an exported ``model.pt``, a training checkpoint
            (its EMA generator when it has one), an ``nn.Module`` or a :class:`GeneratorSource`.
        class_name: a name in ``class_names`` or its index.
        num_samples: how many ROIs.
        seed: the generation seed.
        class_names: the generator's classes in its label order.
        truncation: latent scale psi in (0, 1]; 1 samples the full latent range.
        latent_distribution: as the generator was trained (``"uniform"``).
        spacing_mm: the pixel spacing put into each ROI's affine (0.4 mm: a 128-pixel MIAS window at 64 px).
        batch_size: ROIs per forward pass.
        device: where the generator runs (the result is on the CPU).

    Returns:
        A MetaTensor batch (num_samples, 1, S, S), float32, intensities in [-1, 1], with per-image meta
        (``monai.data.decollate_batch`` splits it): ``filename_or_obj`` (``synthetic_<class>_<seed>_<k>``),
        ``class_name``, ``label``, ``synthetic`` (True), ``synthetic_generator`` (the weights' identity),
        ``synthetic_class``, ``synthetic_seed``, ``synthetic_index`` (``k``), ``affine`` and ``spatial_shape``.

    Raises:
        ValueError: an unknown class, a class count that does not fit the generator, ``num_samples < 1``, or
            the errors of :class:`GeneratorSource` (missing, corrupt or unconditional generator, naming the file).
    """
    names = list(class_names)
    index = class_name if isinstance(class_name, int) else names.index(class_name) if class_name in names else -1
    if not 0 <= index < len(names):
        raise ValueError(f"unknown class {class_name!r}; the generator's classes are {names} (or their indices)")
    if int(num_samples) < 1:
        raise ValueError(f"num_samples must be at least 1, got {num_samples}")
    source = as_generator_source(generator, len(names), device)
    network, truncation = source.get(), check_truncation(truncation)
    images = torch.cat(
        [
            synthesize(
                network,
                index,
                range(start, min(start + batch_size, num_samples)),
                seed,
                latent_distribution,
                truncation,
            )
            for start in range(0, int(num_samples), batch_size)
        ]
    )
    affine = torch.diag(torch.tensor([spacing_mm, spacing_mm, 1.0], dtype=torch.float64))
    rois = []
    for k, image in enumerate(images):
        roi = MetaTensor(
            image,
            affine=affine,
            meta={"spatial_shape": np.array(image.shape[1:]), "class_name": names[index], "label": index},
        )
        roi.meta = synthetic_meta(roi, names[index], source.describe(), seed, k)
        rois.append(roi)
    return collate_meta_tensor(rois)


def _write(image: np.ndarray, stem: Path, formats: Sequence[str], spacing_mm: float, dicom: dict | None) -> list[str]:
    written = []
    if "png" in formats:
        save_png(to_uint8(image), stem.with_suffix(".png"))
        written.append(str(stem.with_suffix(".png")))
    if "nifti" in formats:
        path = stem.with_name(stem.name + ".nii.gz")
        nib.save(nib.Nifti1Image(image.astype(np.float32), np.diag([spacing_mm, spacing_mm, 1.0, 1.0])), str(path))
        written.append(str(path))
    if "dicom" in formats:
        dataset = synthetic_dicom_dataset(image, spacing_mm=spacing_mm, **dicom)
        written.append(str(write_synthetic_dicom(stem.with_suffix(".dcm"), dataset)))
    return written


def generate_rois(
    network: torch.nn.Module,
    class_names: Sequence[str],
    num_per_class: int,
    output_dir: str | PathLike,
    seed: int = 0,
    latent_distribution: str = "uniform",
    formats: Sequence[str] = OUTPUT_FORMATS,
    batch_size: int = 64,
    indices: Sequence[int] | None = None,
    spacing_mm: float = 0.4,
    truncation: float = 1.0,
    generator_id: str = "unknown",
    uid_prefix: str | None = None,
    optimize: bool = True,
) -> list[dict]:
    """Write ``num_per_class`` synthetic ROIs of each class to ``output_dir/<class>/``.

    Args:
        network: the generator (eval mode is used, training mode restored); its ``latent_dim`` and ``num_classes``
            (0: unconditional, no labels passed) say how to sample it.
        class_names: classes in label order.
        num_per_class: ROIs per class (indices ``0..num_per_class-1``).
        output_dir: output folder; a ``manifest.json`` lists every file with its class, index and seed.
        seed: the generation seed.
        formats: any of ``"png"`` (8-bit, [-1, 1] mapped to 0..255), ``"nifti"`` (float32 in [-1, 1]) and
            ``"dicom"`` (Secondary Capture marked SYNTHETIC, 16-bit; one study per call, one series per class;
            see :mod:`monai_roigan.data.dicom_writer`).
        indices: generate only these indices; default all. Under ``torchrun`` each rank takes its share of them.
        spacing_mm: pixel spacing written into NIfTI headers and DICOM ``PixelSpacing`` (0.4 mm: a 128-pixel MIAS
            window at 64 px).
        truncation: latent scale psi in (0, 1] (see :func:`~monai_roigan.networks.sampling.latent_for`); 1 samples
            the full latent range.
        generator_id: the generator's identity written into DICOM tags (see
            :func:`~monai_roigan.networks.describe_weights`).
        uid_prefix: root of the DICOM UIDs (default pydicom's).
        optimize: generate with the network's inference copy (:func:`~monai_roigan.networks.inference_network`:
            batch norms folded, sub-pixel tail, channels-last on the CPU; ``network`` is unchanged). The images
            agree with ``network``'s in eval mode to float32 rounding and come faster than from the plain network
            (docs/performance.md).

    Returns:
        One record per ROI this process wrote: ``class_name``, ``label``, ``index``, ``seed``, ``files``.
    """
    unknown = set(formats) - set(OUTPUT_FORMATS)
    if unknown:
        raise ValueError(f"unknown output format(s) {sorted(unknown)}; expected {OUTPUT_FORMATS}")
    output_dir = Path(output_dir)
    network = inference_network(network) if optimize else network
    series = SyntheticSeries(uid_prefix=uid_prefix)
    for name in class_names:
        series.series(name)  # every class's series UID exists before rank 0's copy is shared
    series = broadcast_object(series)
    wanted = shard_indices(range(num_per_class) if indices is None else indices)
    records = []
    batches = [
        (label, name, wanted[start : start + batch_size])
        for label, name in enumerate(class_names)
        for start in range(0, len(wanted), batch_size)
    ]
    for name in class_names:
        (output_dir / name).mkdir(parents=True, exist_ok=True)
    for label, name, chunk in progress(batches, "synthetic ROIs", logger=logger, unit="batches"):
        images = synthesize(network, label, chunk, seed, latent_distribution, truncation).numpy()
        for k, image in zip(chunk, images):
            dicom = {"class_name": name, "seed": seed, "index": k, "generator": generator_id, "series": series}
            files = _write(image[0], output_dir / name / f"{name}_{k:05d}", formats, spacing_mm, dicom)
            records.append({"class_name": name, "label": label, "index": k, "seed": seed, "files": files})
    everything = sorted(gather_objects(records), key=lambda r: (r["label"], r["index"]))
    manifest = {
        "seed": seed,
        "truncation": truncation,
        "class_names": list(class_names),
        "synthetic": True,
        "generator": generator_id,
        "items": everything,
    }
    if idist.get_rank() == 0:
        (output_dir / "manifest.json").write_text(json.dumps(manifest, indent=1))
        logger.info(
            "inference: wrote %d synthetic ROIs (%s) in %s, one folder per class, listed in %s",
            len(everything),
            ", ".join(formats),
            output_dir,
            output_dir / "manifest.json",
        )
    return records
