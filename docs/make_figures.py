"""Regenerate the figures in docs/img: phantom vs real MIAS mammograms, per-class ROI grids of both, and
real-vs-generated grids per class for a trained phantom model and a trained MIAS model.

Run: python docs/make_figures.py [--mias ../shared/data/mias] [--phantom_model bundle] [--mias_model /tmp/mias_bundle]
     [--mias_pretrained_model /tmp/mias_pt] [--mias_context_model /tmp/mias_ctx]
     [--mias_context_random_model /tmp/mias_ctxr]
A context generator's folder also gets ``inserted_<name>.png``: real normal-tissue ROIs, then the same ROIs with a
lesion of each class painted in (for the one trained with ``--mask_shape random``, with random masks and the four
blend modes). A MIAS bundle with ``models/residual.pt`` (``residual.json``) also gives
``synthetic_transplant_mias.png``: generated residuals added into real normal tissue. Real MIAS data also gives
``insertion_modes_mias.png``: real rare-class lesion ROIs, real normal tissue, and real lesions moved into that
tissue by each blend mode and by a transplant.
The MIAS figures are skipped when the real data is absent; a real-vs-generated grid is skipped when its model
folder has no ``models/model.pt``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch

import monai_roigan
from monai_roigan.apps import prepare_roi_dataset
from monai_roigan.data import ABNORMALITY_CLASSES, load_roi_cache, mias_datalist
from monai_roigan.data.phantom import make_phantom_dataset
from monai_roigan.networks import GeneratorSource
from monai_roigan.transforms import (
    BLEND_MODES,
    CopyPasteLesion,
    InsertSyntheticLesion,
    LoadMammogram,
    NormalCounterpart,
    TransplantLesion,
)
from monai_roigan.utils.visualize import labelled_rows, save_png, tile_images, to_uint8

IMG = Path(__file__).resolve().parent / "img"
REAL_MIAS = Path(__file__).resolve().parents[2] / "shared" / "data" / "mias"
PER_CLASS = 10
#: the scale residual generators are trained with (train.json's residual_scale, its one source of truth)
RESIDUAL_SCALE = float(
    json.loads((Path(__file__).resolve().parents[1] / "bundle/configs/train.json").read_text())["residual_scale"]
)


def mammogram_row(paths: list[str], step: int = 4) -> np.ndarray:
    load = LoadMammogram()
    return tile_images([to_uint8(load(p)[0].numpy()[::step, ::step], (0, 1)) for p in paths], len(paths))


def real_rois(folder: Path, seed: int = 0) -> dict:
    """The ROI cache of every lesion and normal-tissue ROI of a MIAS-layout folder."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        datalist = mias_datalist(folder)
    with tempfile.TemporaryDirectory() as tmp:
        prepare_roi_dataset(datalist, Path(tmp) / "rois.npz", seed=seed, verbose=False)
        return load_roi_cache(Path(tmp) / "rois.npz")


def real_vs_generated(cache: dict, model: Path, out: Path, seed: int = 0) -> None:
    """Per lesion class: a row of real ROIs, then a row of generated ROIs (seed ``seed``) of the same class."""
    rows = []
    for name in ABNORMALITY_CLASSES:
        k = list(cache["class_names"]).index(name)
        real = cache["images"][cache["labels"] == k][:PER_CLASS]
        fake = monai_roigan.generate(model, name, PER_CLASS, seed=seed).numpy()
        rows.append(
            (f"{name} real ({int((cache['labels'] == k).sum())})", tile_images(list(to_uint8(real)), PER_CLASS))
        )
        rows.append((f"{name} generated", tile_images(list(to_uint8(fake)), PER_CLASS)))
    save_png(labelled_rows(rows, label_width=230), out)


def inserted_grid(cache: dict, model: Path, out: Path, seed: int = 0, **insert_options) -> None:
    """A row of real normal-tissue ROIs, then per lesion class the same ROIs with a lesion of that class painted in
    (``insert_options``: e.g. ``mask_shape``, ``blend_modes`` of :class:`InsertSyntheticLesion`)."""
    normal = cache["images"][cache["labels"] == list(cache["class_names"]).index("normal")][::7][:PER_CLASS]
    rows = [("normal tissue (real)", tile_images(list(to_uint8(normal)), PER_CLASS))]
    for name in ABNORMALITY_CLASSES:
        insert = InsertSyntheticLesion(str(model), lesion_class=name, **insert_options).set_random_state(seed)
        painted = [insert(roi) for roi in normal]  # arrays in, arrays out
        rows.append((f"{name} inserted", tile_images(list(to_uint8(np.stack(painted))), PER_CLASS)))
    save_png(labelled_rows(rows, label_width=230), out)


def insertion_modes_grid(cache: dict, out: Path, seed: int = 0) -> None:
    """Rows: real architectural distortion and asymmetry ROIs, real normal tissue, then those lesions moved into that
    tissue with random masks in each blend mode, and transplanted (lesion ``j`` into tissue ``j``)."""
    names = list(cache["class_names"])
    rare = [cache["images"][cache["labels"] == names.index(c)][: PER_CLASS // 2] for c in ABNORMALITY_CLASSES[:2]]
    lesions = np.concatenate(rare)
    normal = cache["images"][cache["labels"] == names.index("normal")][::3][: len(lesions)]
    rows = [("AD, asymmetry (real)", tile_images(list(to_uint8(lesions)), PER_CLASS))]
    rows.append(("normal tissue (real)", tile_images(list(to_uint8(normal)), PER_CLASS)))
    for mode in BLEND_MODES:
        paste = CopyPasteLesion(lesions, mask_shape="random", blend_modes=[mode]).set_random_state(seed)
        moved = [paste(tissue, lesion_index=j).as_tensor().numpy() for j, tissue in enumerate(normal)]
        rows.append((f"copy-paste, {mode}", tile_images(list(to_uint8(np.stack(moved))), PER_CLASS)))
    transplant = TransplantLesion(lesions).set_random_state(seed)
    moved = [transplant(tissue, lesion_index=j).as_tensor().numpy() for j, tissue in enumerate(normal)]
    rows.append(("transplant", tile_images(list(to_uint8(np.stack(moved))), PER_CLASS)))
    save_png(labelled_rows(rows, label_width=230), out)


def synthetic_transplant_grid(cache: dict, residual_model: Path, out: Path, seed: int = 0) -> None:
    """A row of real normal-tissue ROIs, then per lesion class the same ROIs with a residual of that class from a
    residual generator (``residual.json``) transplanted in."""
    normal = cache["images"][cache["labels"] == list(cache["class_names"]).index("normal")][::7][:PER_CLASS]
    rows = [("normal tissue (real)", tile_images(list(to_uint8(normal)), PER_CLASS))]
    for name in ABNORMALITY_CLASSES:
        residuals = monai_roigan.generate(residual_model, name, PER_CLASS, seed=seed).numpy()
        transplant = TransplantLesion(residuals, residual_input=True, residual_scale=RESIDUAL_SCALE)
        transplant.set_random_state(seed)
        moved = [transplant(tissue, lesion_index=j).as_tensor().numpy() for j, tissue in enumerate(normal)]
        rows.append((f"{name} residual added", tile_images(list(to_uint8(np.stack(moved))), PER_CLASS)))
    save_png(labelled_rows(rows, label_width=230), out)


def counterpart_grid(cache: dict, model: Path, out: Path) -> None:
    """Per class, real ROIs and below them their residual against a tissue in-filler's normal counterpart
    (``counterpart.json``; :class:`NormalCounterpart`), shown at twice its amplitude (mid-grey: 0)."""
    counterpart, rows = NormalCounterpart(str(model)), []
    for k, name in enumerate(cache["class_names"]):
        images = cache["images"][cache["labels"] == k][:PER_CLASS]
        if len(images):
            residual = counterpart.batch(torch.as_tensor(images))[:, 1:].numpy()
            rows.append((name, tile_images(list(to_uint8(images)), PER_CLASS)))
            rows.append((f"{name}: residual x2", tile_images(list(to_uint8(np.clip(2 * residual, -1, 1))), PER_CLASS)))
    save_png(labelled_rows(rows, label_width=260), out)


def roi_grid(cache: dict, out: Path) -> None:
    rows = []
    for k, name in enumerate(cache["class_names"]):
        images = cache["images"][cache["labels"] == k][:PER_CLASS]
        if len(images):
            rows.append(
                (f"{name} ({int((cache['labels'] == k).sum())})", tile_images(list(to_uint8(images)), PER_CLASS))
            )
    save_png(labelled_rows(rows), out)


def first_of_each_code(datalist: list[dict], codes: list[str]) -> list[str]:
    return [next(e["image"] for e in datalist if e["abnormality"] == c) for c in codes]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mias", type=Path, default=REAL_MIAS, help="a MIAS folder (Info.txt and PGM files)")
    parser.add_argument(
        "--phantom_model", type=Path, default=Path("bundle"), help="bundle folder trained on the phantom"
    )
    parser.add_argument(
        "--mias_model", type=Path, default=Path("/tmp/mias_bundle"), help="bundle folder trained on MIAS"
    )
    parser.add_argument(
        "--mias_pretrained_model",
        type=Path,
        default=Path("/tmp/mias_pt"),
        help="bundle folder trained on MIAS with pretrain.json",
    )
    parser.add_argument(
        "--mias_context_model",
        type=Path,
        default=Path("/tmp/mias_ctx"),
        help="bundle folder trained on MIAS with context.json",
    )
    parser.add_argument(
        "--mias_context_random_model",
        type=Path,
        default=Path("/tmp/mias_ctxr"),
        help="bundle folder trained on MIAS with context.json and --mask_shape random",
    )
    parser.add_argument(
        "--mias_counterpart_model",
        type=Path,
        default=Path("/tmp/mias_cp"),
        help="bundle folder trained on MIAS with context.json and counterpart.json (models/counterpart.pt)",
    )
    args = parser.parse_args()
    IMG.mkdir(exist_ok=True)
    codes = ["CIRC", "SPIC", "CALC", "ARCH", "ASYM", "NORM"]
    with tempfile.TemporaryDirectory() as tmp:
        phantom = make_phantom_dataset(Path(tmp) / "phantom", num_images=60, seed=0)
        rows = [("phantom", mammogram_row(first_of_each_code(mias_datalist(phantom), codes)))]
        cache = real_rois(phantom)
        roi_grid(cache, IMG / "roi_grid_phantom.png")
        if (args.phantom_model / "models" / "model.pt").is_file():
            real_vs_generated(cache, args.phantom_model, IMG / "real_vs_generated_phantom.png")
    if (args.mias / "Info.txt").is_file():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            real = mias_datalist(args.mias)
        rows.append(("real MIAS", mammogram_row(first_of_each_code(real, codes))))
        cache = real_rois(args.mias)
        roi_grid(cache, IMG / "roi_grid_mias.png")
        insertion_modes_grid(cache, IMG / "insertion_modes_mias.png")
        models = (
            (args.mias_model, "mias"),
            (args.mias_pretrained_model, "mias_pretrained"),
            (args.mias_context_model, "mias_context"),
        )
        for model, name in models:
            if (model / "models" / "model.pt").is_file():
                real_vs_generated(cache, model, IMG / f"real_vs_generated_{name}.png")
                if GeneratorSource(model).kind == "context":
                    inserted_grid(cache, model, IMG / f"inserted_{name}.png")
        if (args.mias_model / "models" / "residual.pt").is_file():
            residual_model = args.mias_model / "models" / "residual.pt"
            synthetic_transplant_grid(cache, residual_model, IMG / "synthetic_transplant_mias.png")
        if (args.mias_counterpart_model / "models" / "counterpart.pt").is_file():
            infiller = args.mias_counterpart_model / "models" / "counterpart.pt"
            counterpart_grid(cache, infiller, IMG / "counterpart_residuals_mias.png")
        if (args.mias_context_random_model / "models" / "model.pt").is_file():
            random_masks = {"mask_shape": "random", "blend_modes": BLEND_MODES}
            inserted_grid(
                cache, args.mias_context_random_model, IMG / "inserted_mias_context_random.png", **random_masks
            )
    save_png(labelled_rows(rows, label_width=80), IMG / "phantom_vs_mias.png")
    print("columns of phantom_vs_mias.png:", ", ".join(codes))


if __name__ == "__main__":
    main()
