"""Command line of the phantom: ``roigan-phantom`` / ``python -m monai_roigan.data.phantom``."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Sequence

from monai_roigan.data.classes import MIAS_CODES
from monai_roigan.data.phantom.dataset import make_phantom_dataset


def main(argv: Sequence[str] | None = None) -> int:
    """``roigan-phantom OUTPUT_DIR --num_images N --seed S``: write a phantom folder."""
    parser = argparse.ArgumentParser(
        prog="roigan-phantom",
        description="Write synthetic phantom MLO mammograms in the MIAS layout (mdbNNN.pgm + Info.txt).",
    )
    parser.add_argument("output_dir", help="folder to write (created if needed)")
    parser.add_argument("--num_images", "--num-images", type=int, default=60, help="number of images (1-999, default 60)")
    parser.add_argument("--seed", type=int, default=0, help="global seed (default 0)")
    parser.add_argument("--size", type=int, default=1024, help="image side in pixels (default 1024, as MIAS)")
    parser.add_argument("--overwrite", action="store_true", help="rewrite a folder that already has an Info.txt")
    args = parser.parse_args(argv)
    try:
        root = make_phantom_dataset(args.output_dir, args.num_images, args.seed, size=args.size, overwrite=args.overwrite)
    except (FileExistsError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    rows = [line.split() for line in (root / "Info.txt").read_text().splitlines() if line.startswith("mdb")]
    row_counts = Counter(tokens[2] for tokens in rows)
    image_counts = Counter(code for _, code in {(tokens[0], tokens[2]) for tokens in rows})
    print(f"{len({tokens[0] for tokens in rows})} phantom images in {root}")
    for code in MIAS_CODES:
        print(f"  {code}: {image_counts.get(code, 0)} images, {row_counts.get(code, 0)} Info.txt rows")
    return 0
