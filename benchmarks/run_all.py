"""Every performance ratio of monai-roigan, measured in one run on this machine, printed as one table.

    python benchmarks/run_all.py            # about 6 minutes on 2 CPU cores; --device cuda on a GPU

Rows (goal in brackets):

1. training throughput (ROIs/s) of ``ROIGanTrainer`` versus a bare PyTorch loop doing the same work: the
   same networks (the bundle's: widths, auxiliary weight and mode-seeking weight read from
   ``bundle/configs/train.json``), batch 32, losses (BCE with the paper's label
   tricks, auxiliary cross-entropy, mode seeking), DiffAugment translation, EMA update, the same
   ``DataLoader`` and iteration count [>= 0.95];
2. pipeline throughput with ``SyntheticROIAugmentd`` (prob 0.5, its defaults: ROIs drawn from a pool generated
   when it is built) versus without, MedNIST-style pipeline, 2 workers (``bench_augment.py``), once with
   persistent workers and once with workers started afresh every epoch (MONAI's tutorial default) [>= 0.9 both];
   and, for comparison, with a fresh ROI generated in the workers for every replacement (``pool_size=None``,
   workers started afresh) [no goal: an option];
3. generator forward at batch 256 in GFLOP/s versus a 2048x2048 float32 matmul in the same run, for the
   default preset (width 0.125), width 0.25 and the paper preset (width 1.0) [>= 0.5]. FLOPs are the plain
   network's (``torch.utils.flop_counter``); the time is that of its ``inference_network`` copy, as
   ``generate_rois`` and ``SyntheticROIAugment`` run it. The plain network's rate is printed below the table;
4. ROI preparation in mammograms/s (``prepare_roi_dataset`` on the 120-image phantom) and the peak resident
   memory of a default-preset training run (``monai.bundle run training``, 2 epochs);
5. the new generators and the filter, reported without a goal (they are options, not the default
   augmentation): pipeline throughput with ``InsertSyntheticLesiond`` (prob 0.5, an untrained context generator of
   the default width, one ROI per call) versus without; generation ROIs/s when the ``ConfidenceFilter`` (fitted on
   the phantom's ROIs) judges every batch of 64 versus generation alone; the context generator's forward at batch
   256 in GFLOP/s versus the matmul [>= 0.25: its U-Net keeps batch norms that ``inference_network`` does not
   fold]; ``ContextGanTrainer`` ROIs/s is printed below the table; pipeline throughput with ``NormalCounterpartd``
   (every ROI, an untrained context generator of the default width) versus without, both pipelines ``CacheDataset`` s
   (the transform is deterministic, so MONAI caches it with the loading) [>= 0.8], and both plain ``Dataset`` s
   (the transform runs on every ROI of every epoch) [no goal: how much caching saves], and
   ``NormalCounterpart.batch`` on 1,000 ROIs in ROIs/s over 100 [>= 1: at most 10 s];
6. the quality gate of the README's training (the full default preset, then
   ``quality_phantom.py``): the share of generated ROIs a classifier of real ROIs assigns to their class, over the
   gate's 0.80 [>= 1], and the largest MS-SSIM difference [<= 0.10]. A training that drifts (a changed default, a
   changed random stream, another machine's float rounding) shows here; ``--skip_quality`` leaves it out.

Speed does not depend on the weights, so a clean clone needs no trained model: rows 2 and 3 use an untrained
generator of the default architecture unless ``--model`` names one.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from monai.data import DataLoader
from monai.utils import set_determinism
from torch.utils.flop_counter import FlopCounterMode

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_augment import pipeline_ratio  # noqa: E402
from quality_phantom import BUNDLE_SETTINGS, quality_gate  # noqa: E402

from monai_roigan.apps import ConfidenceFilter, prepare_roi_dataset, training_datalist, training_rois  # noqa: E402
from monai_roigan.data.phantom import make_phantom_dataset  # noqa: E402
from monai_roigan.engines import (  # noqa: E402
    ContextGanTrainer,
    DiffAugment,
    GanLosses,
    Precision,
    ROIGanTrainer,
    make_ema,
    update_ema,
)
from monai_roigan.losses import AdversarialLoss  # noqa: E402
from monai_roigan.networks import (  # noqa: E402
    ContextROIGenerator,
    ROIDiscriminator,
    ROIGenerator,
    inference_network,
    sample_latent,
    synthesize,
)
from monai_roigan.transforms import NormalCounterpart  # noqa: E402

#: the bundle's training settings this benchmark reproduces (bundle/configs/train.json)
BATCH = int(BUNDLE_SETTINGS["batch_size"])
AUX = float(BUNDLE_SETTINGS["aux_weight"])
MODE_SEEKING = float(BUNDLE_SETTINGS["mode_seeking_weight"])
G_WIDTH, D_WIDTH = float(BUNDLE_SETTINGS["width"]), float(BUNDLE_SETTINGS["d_width"])
#: the generator's layers: the bundle's (train.json), and the paper preset's (paper.json: transposed, 5x5)
G_LAYOUT = {"upsample": BUNDLE_SETTINGS["upsample"], "kernel_size": int(BUNDLE_SETTINGS["generator_kernel_size"])}
PAPER_LAYOUT = {"upsample": "transposed", "kernel_size": 5}


def bundle_generator(width: float = G_WIDTH, layout: dict = G_LAYOUT) -> ROIGenerator:
    """An untrained conditional generator (4 classes) of ``width`` with the bundle's (or another) layout."""
    return ROIGenerator(num_classes=4, width=width, **layout)


def context_generator(bank_size: int = 256) -> ContextROIGenerator:
    """An untrained context generator of the default width with a bank of random contexts (speed needs no weights)."""
    set_determinism(0)
    return ContextROIGenerator(num_classes=4, width=0.125, context_bank=torch.rand(bank_size, 1, 64, 64) * 2 - 1)


def counterpart_rate(model: Path, count: int = 1000) -> float:
    """ROIs/s of :meth:`NormalCounterpart.batch` on ``count`` random ROIs (the best of 3 runs, after a warm-up); the
    goal, 1,000 ROIs in at most 10 s, is 100 ROIs/s."""
    counterpart = NormalCounterpart(str(model))
    rois = torch.rand(count, 1, 64, 64) * 2 - 1
    counterpart.batch(rois[:256])
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        counterpart.batch(rois)
        best = min(best, time.perf_counter() - start)
    return count / best


def networks(device, context: bool = False):
    set_determinism(0)
    g = context_generator(0).to(device) if context else bundle_generator().to(device)
    d = ROIDiscriminator(num_classes=5 if context else 4, width=D_WIDTH, aux_classifier=True).to(device)
    adam = dict(lr=2e-4, betas=(0.5, 0.999))
    return g, d, torch.optim.Adam(g.parameters(), **adam), torch.optim.Adam(d.parameters(), **adam), make_ema(g, 0.995)


def loader(datalist):
    return DataLoader(datalist, batch_size=BATCH, shuffle=True, drop_last=True, num_workers=0)


def run_trainer(datalist, device, iterations: int, channels_last: bool = False, context: bool = False) -> float:
    """ROIs/s of ``ROIGanTrainer`` (``context``: of ``ContextGanTrainer`` and a context generator) with the defaults."""
    g, d, g_opt, d_opt, ema = networks(device, context)
    data = loader(datalist)
    engine, extra = (ContextGanTrainer, {"num_lesion_classes": 4}) if context else (ROIGanTrainer, {})
    trainer = engine(
        device,
        -(-iterations // len(data)),
        data,
        g,
        g_opt,
        d,
        d_opt,
        ema=ema,
        losses=GanLosses(
            AdversarialLoss(), DiffAugment(("translation",)), aux_weight=AUX, mode_seeking_weight=MODE_SEEKING
        ),
        precision=Precision(channels_last=channels_last),
        epoch_length=len(data),
        **extra,
    )
    start = time.perf_counter()
    trainer.run()
    _sync(device)
    return trainer.state.iteration * BATCH / (time.perf_counter() - start)


def _sync(device):
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def run_bare_loop(datalist, device, iterations: int) -> float:
    """The trainer's iteration written as a plain PyTorch loop (no Ignite, no MONAI engine, no handlers)."""
    g, d, g_opt, d_opt, ema = networks(device)
    loss = AdversarialLoss()
    augment = DiffAugment(("translation",))
    rng = torch.Generator().manual_seed(0)
    loss.rng = augment.rng = rng
    data, done = loader(datalist), 0
    start = time.perf_counter()
    while done < iterations:
        for batch in data:
            real, labels = batch["image"].to(device), torch.as_tensor(batch["label"]).to(device).view(-1)
            z = sample_latent(real.shape[0], 100, "uniform", rng).to(device)
            fake = g(z, labels)
            d_opt.zero_grad(set_to_none=True)
            d_real, real_classes = d(augment(real), labels, return_class_logits=True)
            d_fake = d(augment(fake.detach()), labels)
            (loss.discriminator(d_real, d_fake) + AUX * F.cross_entropy(real_classes, labels)).backward()
            d_opt.step()
            g_opt.zero_grad(set_to_none=True)
            d.requires_grad_(False)
            g_logits, fake_classes = d(augment(fake), labels, return_class_logits=True)
            order = torch.argsort(labels.cpu(), stable=True)
            a, b = order[0::2][: BATCH // 2], order[1::2][: BATCH // 2]
            same = labels.cpu()[a] == labels.cpu()[b]
            a, b = a[same].to(device), b[same].to(device)
            ratio = (fake[a] - fake[b]).abs().mean() / (z[a] - z[b]).abs().mean()
            (
                loss.generator_loss(g_logits)
                + AUX * F.cross_entropy(fake_classes, labels)
                + MODE_SEEKING / (ratio + 1e-5)
            ).backward()
            g_opt.step()
            d.requires_grad_(True)
            update_ema(ema, g)
            done += 1
            if done == iterations:
                break
    _sync(device)
    return done * BATCH / (time.perf_counter() - start)


def training_ratio(datalist, device, iterations: int, repeats: int) -> tuple[float, float]:
    run_trainer(datalist, device, 10), run_bare_loop(datalist, device, 10)  # warm-up
    best = {"trainer": 0.0, "bare": 0.0}
    for _ in range(repeats):  # alternate, keep the best of each: the machine's noise hits both
        best["trainer"] = max(best["trainer"], run_trainer(datalist, device, iterations))
        best["bare"] = max(best["bare"], run_bare_loop(datalist, device, iterations))
    return best["trainer"], best["bare"]


def best_seconds(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def generator_gflops(
    device,
    width: float = 0.125,
    batch: int = 256,
    repeats: int = 5,
    optimized: bool = True,
    context: bool = False,
    layout: dict = G_LAYOUT,
) -> tuple[float, float]:
    """(generator forward GFLOP/s at ``batch``, float32 2048x2048 matmul GFLOP/s), both on ``device``.

    FLOPs are those of the plain network (eval mode), counted once. ``optimized`` times the network as
    ``generate_rois`` and ``SyntheticROIAugment`` run it, its ``inference_network`` copy (batch norms folded,
    sub-pixel tail, channels-last on the CPU); otherwise the plain network in channels-last memory, as before.
    ``context``: the default context generator, in-filling contexts from its bank; ``layout``: the generator's
    ``upsample`` and ``kernel_size``.
    """
    plain = (context_generator() if context else bundle_generator(width, layout)).to(device).eval()
    z, labels = torch.rand(batch, 100, device=device) * 2 - 1, torch.arange(batch, device=device) % 4
    with torch.no_grad():
        with FlopCounterMode(display=False) as counter:
            plain(z, labels)
        flops = counter.get_total_flops()
        g = inference_network(plain) if optimized else plain.to(memory_format=torch.channels_last)

        def forward():
            g(z, labels)
            _sync(device)

        forward()
        g_rate = flops / best_seconds(forward, repeats) / 1e9
        a, b = torch.randn(2048, 2048, device=device), torch.randn(2048, 2048, device=device)

        def matmul():
            a @ b
            _sync(device)

        matmul()
        return g_rate, 2 * 2048**3 / best_seconds(matmul, repeats) / 1e9


def filter_ratio(datalist, repeats: int = 5, batch: int = 64) -> tuple[float, float]:
    """(ROIs/s generated and judged by a ``ConfidenceFilter``, ROIs/s generated alone): the default preset's
    inference copy, batches of ``batch`` ROIs of one class; the judge fitted on ``datalist`` (the phantom's ROIs)."""
    images = torch.stack([torch.as_tensor(i["image"]) for i in datalist])
    judge = ConfidenceFilter.fit(images, torch.tensor([int(i["label"]) for i in datalist]), 4, 0.5, seed=0)
    set_determinism(0)
    g = inference_network(bundle_generator().eval())
    plain = best_seconds(lambda: synthesize(g, 1, range(batch)), repeats)
    judged = best_seconds(lambda: judge(synthesize(g, 1, range(batch)), 1), repeats)
    return batch / judged, batch / plain


def roi_preparation_rate(phantom: Path, work: Path) -> float:
    from monai_roigan.data import mias_datalist

    entries = mias_datalist(phantom)
    start = time.perf_counter()
    summary = prepare_roi_dataset(entries, work / "prep_rois.npz", augment="dihedral", verbose=False)
    return summary["num_images"] / (time.perf_counter() - start)


def run_bundle_training(bundle_root: Path, *overrides: str) -> None:
    """``python -m monai.bundle run training`` with ``bundle/configs/train.json`` into ``bundle_root``, with
    ``overrides`` (``--key value`` pairs) appended; raises if it fails."""
    config = REPO / "bundle" / "configs" / "train.json"
    cmd = [sys.executable, "-m", "monai.bundle", "run", "training", "--config_file", str(config)]
    subprocess.run([*cmd, "--bundle_root", str(bundle_root), *overrides], cwd=REPO, check=True, capture_output=True)


def training_peak_rss(cache: Path, work: Path) -> tuple[float, float]:
    """(peak RSS in MiB, seconds) of ``monai.bundle run training`` with the default preset for 2 epochs."""
    start = time.perf_counter()
    run_bundle_training(work / "bundle", "--cache_dir", str(cache), "--max_epochs", "2")
    seconds = time.perf_counter() - start
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, seconds  # Linux: KiB


def readme_training_gate(work: Path) -> dict:
    """Train the README's default preset into ``work/readme`` and run the quality gate on its ``model.pt``."""
    root = work / "readme"
    run_bundle_training(root)
    return quality_gate(
        [root / "models" / "model.pt"], cache_dir=work / "gate", train_cache_dir=root / "data", report=lambda line: None
    )[0]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--model", type=Path, default=None, help="generator for the pipeline row (default: untrained)")
    p.add_argument("--iterations", type=int, default=100)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--pairs", type=int, default=5, help="adjacent epoch pairs of the pipeline row (median ratio)")
    p.add_argument("--skip_quality", action="store_true", help="leave out row 6 (a full default training)")
    args = p.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        cache = work / "cache"
        rss, train_seconds = training_peak_rss(cache, work)  # first: RUSAGE_CHILDREN must see this child only
        datalist = training_datalist(training_rois(cache, None, augment="dihedral"))
        trainer, bare = training_ratio(datalist, args.device, args.iterations, args.repeats)
        rows.append(("training ROIs/s: ROIGanTrainer / bare PyTorch loop", trainer, bare, trainer / bare, 0.95))
        fast = max(run_trainer(datalist, args.device, args.iterations, channels_last=True) for _ in range(args.repeats))
        model = args.model or work / "untrained.pt"
        if args.model is None:
            torch.save(bundle_generator().state_dict(), model)
        for transform, persistent, label, goal in (
            ("synthetic", True, "pool, persistent workers", 0.9),
            ("synthetic", False, "pool, fresh workers", 0.9),
            ("synthetic_fresh", False, "pool_size=None, fresh workers", None),
        ):
            with_aug, without, pipeline = pipeline_ratio(
                model,
                120,
                workers=2,
                pairs=args.pairs,
                folder=cache,
                transform=transform,
                persistent_workers=persistent,
            )
            rows.append(
                (f"pipeline ROIs/s: with / without SyntheticROIAugmentd ({label})", with_aug, without, pipeline, goal)
            )
        torch.save(context_generator().state_dict(), work / "context.pt")
        with_ins, without_ins, inserted = pipeline_ratio(
            work / "context.pt", 120, workers=2, pairs=args.pairs, folder=cache, transform="inserted"
        )
        rows.append(("pipeline ROIs/s: with / without InsertSyntheticLesiond", with_ins, without_ins, inserted, None))
        for cached, label, goal in ((True, "CacheDataset", 0.8), (False, "Dataset, every epoch", None)):
            with_cp, without_cp, counterpart = pipeline_ratio(
                work / "context.pt",
                120,
                workers=2,
                pairs=args.pairs,
                folder=cache,
                transform="counterpart",
                cached=cached,
            )
            rows.append(
                (
                    f"pipeline ROIs/s: with / without NormalCounterpartd ({label})",
                    with_cp,
                    without_cp,
                    counterpart,
                    goal,
                )
            )
        cp_rate = counterpart_rate(work / "context.pt")
        rows.append(("counterpart ROIs/s: NormalCounterpart.batch, 1,000 ROIs / 100", cp_rate, 100, cp_rate / 100, 1.0))
        judged, unjudged = filter_ratio(datalist, args.repeats)
        rows.append(
            ("generation ROIs/s: judged by ConfidenceFilter / not judged", judged, unjudged, judged / unjudged, None)
        )
        c_rate, c_mm = generator_gflops(args.device, context=True)
        rows.append(("GFLOP/s: context G forward (batch 256) / matmul 2048", c_rate, c_mm, c_rate / c_mm, 0.25))
        context_training = run_trainer(datalist, args.device, args.iterations // 2, context=True)
        for width, name, layout in (
            (0.125, "default", G_LAYOUT),
            (0.25, "width 0.25", G_LAYOUT),
            (1.0, "paper", PAPER_LAYOUT),
        ):
            g_rate, mm_rate = generator_gflops(args.device, width, layout=layout)
            rows.append(
                (f"GFLOP/s: G forward (batch 256, {name}) / matmul 2048", g_rate, mm_rate, g_rate / mm_rate, 0.5)
            )
        plain_rate, plain_mm = generator_gflops(args.device, 0.125, optimized=False)
        prep = roi_preparation_rate(make_phantom_dataset(cache / "phantom", num_images=120, seed=0), work)
        gate = None if args.skip_quality else readme_training_gate(work)
        if gate is not None:
            rows.append(
                (
                    "quality gate: ROIs assigned to their class / 0.80",
                    gate["fidelity"],
                    0.8,
                    gate["fidelity"] / 0.8,
                    1.0,
                )
            )
    print(f"device: {args.device} ({torch.get_num_threads()} threads), torch {torch.__version__}")
    print(f"{'measure':<60}{'numerator':>11}{'denominator':>13}{'ratio':>8}{'goal':>7}  met")
    for name, num, den, ratio, goal in rows:
        met = "-" if goal is None else ("yes" if ratio >= goal else "NO")
        print(f"{name:<60}{num:>11.1f}{den:>13.1f}{ratio:>8.2f}{'-' if goal is None else f'{goal:.2f}':>7}  {met}")
    print(f"training with channels_last=True: {fast:.1f} ROIs/s ({fast / trainer:.2f}x the default layout)")
    print(
        f"default preset without inference_network (plain, channels-last): {plain_rate:.1f} GFLOP/s "
        f"({plain_rate / plain_mm:.2f}x matmul)"
    )
    print(
        f"ContextGanTrainer (default width, context generator): {context_training:.1f} ROIs/s "
        f"({context_training / trainer:.2f}x ROIGanTrainer)"
    )
    print(f"ROI preparation: {prep:.2f} mammograms/s (120-image phantom, dihedral)")
    print(
        f"default-preset training (2 epochs, incl. quality classifier fit): peak RSS {rss:.0f} MiB, "
        f"{train_seconds:.0f} s"
    )
    if gate is not None:
        worst = max(gate["msssim_diff"].items(), key=lambda item: abs(item[1]))
        print(
            "quality gate of the README training: "
            + ", ".join(f"{n} {v:.2f}" for n, v in gate["per_class"].items())
            + f"; largest MS-SSIM difference {worst[1]:.3f} ({worst[0]}, limit 0.10): "
            + ("PASS" if gate["passed"] else "FAIL")
        )


if __name__ == "__main__":
    main()
