"""Generator forward cost per ROI, plain network versus its ``inference_network`` copy, by batch and thread count.

The plain network runs in eval mode and channels-last memory (what generation did before
``inference_network``); the copy has its batch norms folded and the sub-pixel tail (docs/performance.md).
Batches 4 to 64 are the augmentation bank's refill sizes; ``DataLoader`` workers run on one thread.

    python benchmarks/bench_generator.py            # about 1 minute on 2 CPU cores
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run_all import generator_gflops  # noqa: E402

from monai_roigan.networks import ROIGenerator  # noqa: E402
from monai_roigan.utils import torch_threads  # noqa: E402


def flops_per_roi(width: float) -> float:
    network = ROIGenerator(num_classes=4, width=width).eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        network(torch.zeros(1, 100), torch.zeros(1, dtype=torch.long))
    return counter.get_total_flops()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--width", type=float, default=0.125)
    p.add_argument("--batches", type=int, nargs="+", default=[4, 16, 64, 256])
    args = p.parse_args()
    per_roi = flops_per_roi(args.width)
    print(f"width {args.width}: {per_roi / 1e6:.1f} MFLOP per ROI; torch {torch.__version__}")
    print(f"{'threads':>7}{'batch':>7}{'plain ms/ROI':>14}{'inference ms/ROI':>18}{'speed-up':>10}")
    for threads in sorted({1, torch.get_num_threads()}):
        with torch_threads(threads):
            for batch in args.batches:
                plain, _ = generator_gflops("cpu", args.width, batch, optimized=False)
                fast, _ = generator_gflops("cpu", args.width, batch, optimized=True)
                plain_ms, fast_ms = per_roi / plain / 1e6, per_roi / fast / 1e6
                print(f"{threads:>7}{batch:>7}{plain_ms:>14.3f}{fast_ms:>18.3f}{plain_ms / fast_ms:>9.2f}x")


if __name__ == "__main__":
    main()
