"""Quality gate of a trained generator: class fidelity and diversity against real ROIs.

1. Class fidelity: a small 4-class CNN is trained on *real* ROIs of an independent phantom (another seed,
   dihedral copies) and then classifies ``--num`` generated ROIs per class; the score of a class is the share
   of its generated ROIs assigned to it. Gate: at least 0.80 for every class.
2. Diversity (mode collapse): mean pairwise MS-SSIM (MONAI, kernel 3 at 64 px) among generated ROIs of a class
   next to the same quantity among real ROIs of that class. Gate: within 0.10.

Run (after training the bundle's default preset):
    python benchmarks/quality_phantom.py --model bundle/models/model.pt
On real MIAS (after training with --dataset_dir; no threshold there, report the numbers):
    python benchmarks/quality_phantom.py --model bundle/models/model.pt --dataset_dir ../shared/data/mias
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
from pathlib import Path

import numpy as np
import torch
from monai.metrics import MultiScaleSSIMMetric
from monai.utils import set_determinism
from torch import nn

from monai_roigan.data import ABNORMALITY_CLASSES, training_datalist, training_rois
from monai_roigan.engines import latent_for
from monai_roigan.handlers import generate
from monai_roigan.networks import ROIGenerator, load_weights


def roi_arrays(path: Path) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
    """Images, labels and source-mammogram groups of an ROI cache's four abnormality classes."""
    items = training_datalist(path, ABNORMALITY_CLASSES)
    images = torch.stack([i["image"].as_tensor() for i in items])
    return images, torch.tensor([i["label"] for i in items]), np.array([i["group"] for i in items])


def held_out_accuracy(x: torch.Tensor, y: torch.Tensor, groups: np.ndarray, seed: int = 0) -> float:
    """Accuracy on real ROIs of a quarter of the mammograms, for a classifier trained on the rest."""
    names = np.unique(groups)
    test = np.isin(groups, np.random.default_rng(seed).choice(names, len(names) // 4, replace=False))
    net = train_classifier(x[~test], y[~test])
    with torch.no_grad():
        return float((net(x[test]).argmax(1) == y[test]).float().mean())


def small_cnn(num_classes: int) -> nn.Module:
    def block(c_in, c_out):
        return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(), nn.MaxPool2d(2))

    return nn.Sequential(block(1, 16), block(16, 32), block(32, 64), block(64, 64), nn.Flatten(),
                         nn.Dropout(0.3), nn.Linear(64 * 16, num_classes))  # fmt: skip


def train_classifier(x: torch.Tensor, y: torch.Tensor, epochs: int = 30, seed: int = 0) -> nn.Module:
    set_determinism(seed)
    net = small_cnn(int(y.max()) + 1)
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    for _ in range(epochs):
        for idx in torch.randperm(len(x)).split(32):
            loss = nn.functional.cross_entropy(net(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return net.eval()


def mean_pairwise_msssim(images: torch.Tensor, pairs: int = 300, seed: int = 0) -> float:
    """Mean MS-SSIM over random pairs of distinct images (B, 1, 64, 64) in [-1, 1]."""
    rng = np.random.default_rng(seed)
    all_pairs = list(itertools.combinations(range(len(images)), 2))
    chosen = [all_pairs[i] for i in rng.choice(len(all_pairs), min(pairs, len(all_pairs)), replace=False)]
    a = torch.stack([images[i] for i, _ in chosen]) * 0.5 + 0.5
    b = torch.stack([images[j] for _, j in chosen]) * 0.5 + 0.5
    metric = MultiScaleSSIMMetric(spatial_dims=2, data_range=1.0, kernel_size=3)
    return float(metric(a, b).mean())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, default=Path("bundle/models/model.pt"))
    p.add_argument("--width", type=float, default=0.125)
    p.add_argument("--dataset_dir", type=Path, default=None, help="real MIAS folder; default: a fresh phantom")
    p.add_argument("--num", type=int, default=100, help="generated ROIs per class")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--cache_dir", type=Path, default=None, help="keep the reference ROIs here between runs")
    args = p.parse_args()
    g = load_weights(ROIGenerator(width=args.width), args.model)
    with tempfile.TemporaryDirectory() as tmp:
        cache_dir = args.cache_dir or tmp
        cache = training_rois(cache_dir, args.dataset_dir, num_phantom_images=120, seed=args.seed, augment="dihedral")
        x, y, groups = roi_arrays(cache)
    source = "MIAS" if args.dataset_dir else f"phantom seed {args.seed}"
    print(f"classifier accuracy on real ROIs of held-out mammograms: {held_out_accuracy(x, y, groups):.2f} ({source})")
    classifier = train_classifier(x, y)
    print(f"classifier trained on {len(x)} real ROIs ({source})")
    print(f"{'class':<26}{'fidelity':>9}{'MS-SSIM gen':>13}{'MS-SSIM real':>14}{'diff':>7}")
    passed = True
    for label, name in enumerate(ABNORMALITY_CLASSES):
        z = torch.stack([latent_for(1000 + args.seed, label, k, 100) for k in range(args.num)])
        fake = generate(g, z, torch.full((args.num,), label))
        with torch.no_grad():
            fidelity = float((classifier(fake).argmax(1) == label).float().mean())
        real = x[y == label]
        gen_ms, real_ms = mean_pairwise_msssim(fake), mean_pairwise_msssim(real)
        ok = fidelity >= 0.8 and abs(gen_ms - real_ms) <= 0.1
        passed &= ok
        print(f"{name:<26}{fidelity:>9.2f}{gen_ms:>13.3f}{real_ms:>14.3f}{gen_ms - real_ms:>7.3f}{'' if ok else '  FAIL'}")
    print("quality gate:", "PASS" if passed else "FAIL", "(fidelity >= 0.80 and |MS-SSIM diff| <= 0.10 per class)")


if __name__ == "__main__":
    main()
