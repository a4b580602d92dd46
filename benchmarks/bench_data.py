"""Data-path benchmark: PGM load + ROI extraction (mammograms/s) and seconds per 16-bit DICOM.

Run: python benchmarks/bench_data.py [--mias DIR] [--cbis DIR] [--repeats N]

Without --mias it times the phantom (generated into a temporary folder, generation not timed); the
real MIAS and CBIS-DDSM samples are used when found beside the checkout (../shared/data).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

from monai_roigan.apps import prepare_roi_dataset
from monai_roigan.data import mias_datalist
from monai_roigan.data.phantom import make_phantom_dataset
from monai_roigan.transforms import ExtractROI, LoadMammogram

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def bench_pgm(folder: Path, repeats: int) -> tuple[float, int]:
    """Median mammograms/s over ``repeats`` passes of load + ROI extraction of every annotated ROI."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        entries = mias_datalist(folder)
    by_image: dict[str, list] = {}
    for e in entries:
        by_image.setdefault(e["image"], []).append(e["center"])
    load, extract = LoadMammogram(), ExtractROI()
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for path, centers in by_image.items():
            image = load(path)
            for center in centers:
                if center is not None:
                    extract(image, center)
        rates.append(len(by_image) / (time.perf_counter() - start))
    return statistics.median(rates), len(by_image)


def bench_prepare(folder: Path) -> float:
    """Mammograms/s of the whole ``prepare_roi_dataset`` (lesion and normal ROIs, cache written)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        entries = mias_datalist(folder)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        summary = prepare_roi_dataset(entries, Path(tmp) / "rois.npz", verbose=False)
        return summary["num_images"] / (time.perf_counter() - start)


def bench_dicom(files: list[Path], repeats: int) -> dict[str, float]:
    load = LoadMammogram()
    out = {}
    for f in files:
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            load(f)
            times.append(time.perf_counter() - start)
        out[f.name] = statistics.median(times)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mias", type=Path, default=SHARED / "mias")
    p.add_argument("--cbis", type=Path, default=SHARED / "cbis-ddsm")
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        phantom = make_phantom_dataset(Path(tmp) / "phantom", num_images=60, seed=0)
        rate, n = bench_pgm(phantom, args.repeats)
        print(f"phantom PGM load + ROI extraction: {rate:.1f} mammograms/s ({n} images, median of {args.repeats})")
        print(f"phantom prepare_roi_dataset end to end: {bench_prepare(phantom):.1f} mammograms/s")
    if (args.mias / "Info.txt").is_file():
        rate, n = bench_pgm(args.mias, args.repeats)
        print(f"real MIAS PGM load + ROI extraction: {rate:.1f} mammograms/s ({n} images, median of {args.repeats})")
        print(f"real MIAS prepare_roi_dataset end to end: {bench_prepare(args.mias):.1f} mammograms/s")
    dicoms = sorted(args.cbis.glob("*.dcm")) if args.cbis.is_dir() else []
    for name, seconds in bench_dicom(dicoms, args.repeats).items():
        print(f"DICOM load {name}: {seconds:.2f} s (RLE Lossless, 16-bit, median of {args.repeats})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
