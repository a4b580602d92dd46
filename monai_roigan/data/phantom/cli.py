"""Command line of the phantom: ``roigan-phantom`` / ``python -m monai_roigan.data.phantom``."""

from __future__ import annotations

import argparse
import logging
from collections import Counter
from collections.abc import Sequence

from monai_roigan.data.classes import MIAS_CODES
from monai_roigan.data.phantom.common import _MAX_IMAGES
from monai_roigan.data.phantom.dataset import make_phantom_dataset
from monai_roigan.utils.cli import DefaultsHelpFormatter, configure_cli_logging

logger = logging.getLogger("monai_roigan.phantom")


def build_parser() -> argparse.ArgumentParser:
    """The ``roigan-phantom`` argument parser (``--help`` shows every default)."""
    parser = argparse.ArgumentParser(
        prog="roigan-phantom",
        description="Write synthetic phantom MLO mammograms in the MIAS layout (mdbNNN.pgm + Info.txt). "
        "Progress and a per-class summary are logged on stderr.",
        formatter_class=DefaultsHelpFormatter,
    )
    parser.add_argument("output_dir", help="Folder to write; it is created if needed.")
    parser.add_argument(
        "--num_images",
        "--num-images",
        type=int,
        default=60,
        help=f"Number of phantom mammograms to write (1-{_MAX_IMAGES}).",
    )
    parser.add_argument("--seed", type=int, default=0, help="Global seed; image k is the same for any --num_images.")
    parser.add_argument("--size", type=int, default=1024, help="Image side in pixels (1024 as in MIAS).")
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="Rewrite a folder that already has an Info.txt made with other parameters.",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """``roigan-phantom OUTPUT_DIR --num_images N --seed S``: write a phantom folder; returns 2 on a refused folder
    or bad parameters."""
    configure_cli_logging()
    args = build_parser().parse_args(argv)
    try:
        root = make_phantom_dataset(
            args.output_dir, args.num_images, args.seed, size=args.size, overwrite=args.overwrite
        )
    except (FileExistsError, ValueError) as err:
        logger.error("%s", err)
        return 2
    rows = [line.split() for line in (root / "Info.txt").read_text().splitlines() if line.startswith("mdb")]
    row_counts = Counter(tokens[2] for tokens in rows)
    image_counts = Counter(code for _, code in {(tokens[0], tokens[2]) for tokens in rows})
    lines = [f"{len({tokens[0] for tokens in rows})} phantom images in {root}"]
    lines += [
        f"  {code}: {image_counts.get(code, 0)} images, {row_counts.get(code, 0)} Info.txt rows" for code in MIAS_CODES
    ]
    logger.info("%s", "\n".join(lines))
    return 0
