"""Training throughput of the bundle's trainer (ROIs/s) per device and precision, with a finite-loss check.

Run: python benchmarks/bench_train.py [--device cuda] [--iterations 200] [--width 0.125]
It builds the phantom ROI cache in a temporary folder, then trains fp32, bf16 and (on CUDA) fp16 AMP for
``--iterations`` each after a warm-up, and resumes one run from its checkpoint on the same device.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
from monai.data import DataLoader
from monai.utils import set_determinism

from monai_roigan.apps import training_datalist, training_rois
from monai_roigan.engines import DiffAugment, GanLosses, Precision, ROIGanTrainer, make_ema
from monai_roigan.handlers import GanCheckpointLoader, GanCheckpointSaver
from monai_roigan.networks import ROIDiscriminator, ROIGenerator


def build(datalist, device, width, iterations, amp, amp_dtype, ckpt_dir=None, resume=False, batch_size=32):
    set_determinism(0)
    g, d = ROIGenerator(width=width).to(device), ROIDiscriminator(width=width).to(device)
    g_opt = torch.optim.Adam(g.parameters(), 2e-4, betas=(0.5, 0.999))
    d_opt = torch.optim.Adam(d.parameters(), 2e-4, betas=(0.5, 0.999))
    ema = make_ema(g, 0.995)
    loader = DataLoader(datalist, batch_size=batch_size, shuffle=True, drop_last=True, num_workers=0)
    handlers = []
    if ckpt_dir is not None:
        save = {"generator": g, "discriminator": d, "g_opt": g_opt, "d_opt": d_opt, "ema": ema}
        handlers.append(GanCheckpointSaver(ckpt_dir, save, save_interval=iterations))
        if resume:
            handlers.append(GanCheckpointLoader(ckpt_dir, save, map_location=device))
    epochs = -(-iterations // len(loader))
    return ROIGanTrainer(
        device,
        epochs,
        loader,
        g,
        g_opt,
        d,
        d_opt,
        ema=ema,
        losses=GanLosses(diffaugment=DiffAugment(("translation",))),
        precision=Precision(amp=amp, amp_dtype=amp_dtype),
        epoch_length=len(loader),
        train_handlers=handlers,
    )


def timed_run(trainer) -> float:
    if trainer.state.device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    trainer.run()
    if trainer.state.device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--iterations", type=int, default=200)
    p.add_argument("--width", type=float, default=0.125)
    p.add_argument("--batch_size", type=int, default=32)
    args = p.parse_args()
    device = torch.device(args.device)
    with tempfile.TemporaryDirectory() as tmp:
        cache = training_rois(tmp, None, num_phantom_images=40, augment="dihedral")
        datalist = training_datalist(cache)
        modes = [(False, "bfloat16", "fp32"), (True, "bfloat16", "bf16 AMP")]
        if device.type == "cuda":
            modes.append((True, "float16", "fp16 AMP"))
            print("GPU:", torch.cuda.get_device_name(device))
        for amp, dtype, name in modes:
            timed_run(build(datalist, device, args.width, 20, amp, dtype, batch_size=args.batch_size))  # warm-up
            trainer = build(datalist, device, args.width, args.iterations, amp, dtype, batch_size=args.batch_size)
            seconds = timed_run(trainer)
            rois = trainer.state.iteration * args.batch_size
            out = trainer.state.output
            finite = all(torch.isfinite(torch.tensor(out[k])) for k in ("g_loss", "d_loss"))
            print(
                f"{name:<9} {rois / seconds:9.1f} ROIs/s  ({trainer.state.iteration} iterations, "
                f"batch {args.batch_size}, "
                f"width {args.width}) g_loss {out['g_loss']:.3f} d_loss {out['d_loss']:.3f} finite={finite}"
            )
        ckpt = Path(tmp) / "ckpt"
        first = build(datalist, device, args.width, 40, True, "bfloat16", ckpt_dir=ckpt)
        first.run()
        resumed = build(datalist, device, args.width, 80, True, "bfloat16", ckpt_dir=ckpt, resume=True)
        resumed.run()
        print(
            f"resume on {device.type}: first run ended at iteration {first.state.iteration}, "
            f"resumed run ended at {resumed.state.iteration}"
        )


if __name__ == "__main__":
    main()
