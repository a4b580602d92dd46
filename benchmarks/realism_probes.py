"""What gives a generator's ROIs away: the realism judge's C2ST after the same transform of every ROI.

Each probe transforms the real and the synthetic ROIs alike, on both sides of the test, then runs the judge's C2ST
and its floor (``monai_roigan.evaluation.realism_scores`` and ``real_vs_real``: training women's real ROIs
against synthetic ROIs, then held-out women's real ROIs against fresh synthetic ones). A probe that brings the
AUC down to the real-vs-real floor removes what the classifier reads; one that leaves it at 1 does not:

- ``identity``: the judge's own C2ST.
- ``standardised``: each ROI to zero mean and unit standard deviation (no brightness or contrast cue), then
  ``tanh(x / 2)`` back into [-1, 1].
- ``low_pass``: a Gaussian blur of ``--sigma`` pixels (no fine texture, no grain, no grid).
- ``high_pass``: the ROI minus that blur, scaled to [-1, 1] by 4x (fine texture only).
- ``standardised_low_pass``: both.

Run after a training, with its bundle folder and the data settings it was trained with (any ``--key value`` the
script does not know is a bundle setting: ``--dataset_dir``, ``--holdout_fraction``, ``--split_seed``, ``--seed``,
``--datalist``, ...), so that the real ROIs are split as the training split them:

    python benchmarks/realism_probes.py --bundle_root /tmp/mias/g0 --dataset_dir ../shared/data/mias \\
        --holdout_fraction 0.3
"""

from __future__ import annotations

import argparse
import ast
import json
from pathlib import Path

import numpy as np
from monai.bundle import ConfigParser
from scipy.ndimage import gaussian_filter

from monai_roigan.evaluation.data import EvaluationROIs, ROISet
from monai_roigan.evaluation.realism import (
    POOLED,
    Sampler,
    generator_sampler,
    real_vs_real,
    realism_scores,
    synthetic_like,
)
from monai_roigan.metrics import mean_power_spectrum

#: radial frequency bands (cycles per ROI) of :func:`describe`
BANDS = ((1, 4), (4, 8), (8, 16), (16, 24), (24, 46))
BUNDLE = Path(__file__).parents[1] / "bundle" / "configs"


def _standardised(images: np.ndarray, sigma: float) -> np.ndarray:
    mean = images.mean(axis=(1, 2, 3), keepdims=True)
    std = images.std(axis=(1, 2, 3), keepdims=True) + 1e-6
    return np.tanh((images - mean) / std / 2)


def _low_pass(images: np.ndarray, sigma: float) -> np.ndarray:
    return gaussian_filter(images, sigma=(0, 0, sigma, sigma), mode="reflect")


def _high_pass(images: np.ndarray, sigma: float) -> np.ndarray:
    return np.clip(4 * (images - _low_pass(images, sigma)), -1, 1)


PROBES = {
    "identity": lambda images, sigma: images,
    "standardised": _standardised,
    "low_pass": _low_pass,
    "high_pass": _high_pass,
    "standardised_low_pass": lambda images, sigma: _standardised(_low_pass(images, sigma), sigma),
}


def apply_probe(images: np.ndarray, probe: str, sigma: float) -> np.ndarray:
    """``PROBES[probe]`` of ROIs (N, 1, S, S) in [-1, 1], computed in float64, returned in float32."""
    return PROBES[probe](images.astype(np.float64), sigma).astype(np.float32)


def probed_rois(rois: EvaluationROIs, probe: str, sigma: float) -> EvaluationROIs:
    """``rois`` with the probe applied to the images of its training and held-out lesion ROIs."""

    def apply(part: ROISet) -> ROISet:
        return ROISet(apply_probe(part.images, probe, sigma), part.labels, part.groups)

    return rois._replace(train=apply(rois.train), held_out=apply(rois.held_out))


def probed_sampler(sample: Sampler, probe: str, sigma: float) -> Sampler:
    """``sample``'s ROIs with the probe applied."""
    return lambda k, count, seed: apply_probe(sample(k, count, seed), probe, sigma)


def describe(name: str, images: np.ndarray) -> dict[str, float]:
    """Per-ROI mean and standard deviation (averaged over the ROIs, [-1, 1] units) and the mean power in radial
    frequency bands (cycles per ROI), of images (N, 1, S, S)."""
    power = mean_power_spectrum(images)
    radius = np.hypot.outer(np.arange(power.shape[0]), np.arange(power.shape[1]))
    found = {"roi mean": float(images.mean(axis=(1, 2, 3)).mean()), "roi std": float(images.std(axis=(1, 2, 3)).mean())}
    for low, high in BANDS:
        found[f"power {low}-{high}"] = float(power[(radius >= low) & (radius < high)].mean())
    print(f"{name:>10}: " + ", ".join(f"{k} {v:.3g}" for k, v in found.items()))
    return found


def bundle_overrides(words: list[str]) -> dict:
    """``--key value`` pairs, as given to ``monai.bundle run``, to a dict (values read as Python literals where they
    parse, e.g. ``0.3`` or ``None``, else kept as strings)."""
    if len(words) % 2 or not all(w.startswith("--") for w in words[::2]):
        raise SystemExit(f"bundle settings must come as --key value pairs, got {' '.join(words)}")
    found = {}
    for key, value in zip(words[::2], words[1::2]):
        try:
            found[key[2:]] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            found[key[2:]] = value
    return found


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="Any other --key value pair is a bundle setting, as given to the training (e.g. --dataset_dir, "
        "--holdout_fraction, --split_seed, --seed, --datalist).",
    )
    p.add_argument("--bundle_root", required=True, help="the trained bundle folder (models/model.pt, data/)")
    p.add_argument("--probes", nargs="+", choices=sorted(PROBES), default=list(PROBES))
    p.add_argument("--sigma", type=float, default=1.5, help="Gaussian blur of the low and high pass (pixels)")
    p.add_argument("--repeats", type=int, default=None, help="C2ST repeats (default: realism.json's)")
    p.add_argument("--steps", type=int, default=None, help="C2ST training batches (default: realism.json's)")
    args, settings = p.parse_known_args()
    parser = ConfigParser()
    parser.read_config([str(BUNDLE / "train.json"), str(BUNDLE / "realism.json")])
    parser.update({**bundle_overrides(settings), "bundle_root": args.bundle_root, "evaluation_normal_per_image": 0})
    rois, names = parser.get_parsed_content("real_rois"), parser.get_parsed_content("class_names")
    sample, described = generator_sampler(
        args.bundle_root, len(names), parser["latent_distribution"], float(parser["truncation"])
    )
    print(f"{described}; {len(rois.train)} training and {len(rois.held_out)} held-out lesion ROIs")
    repeats, steps = args.repeats or int(parser["realism_repeats"]), args.steps or int(parser["realism_steps"])
    options = {"class_names": names, "repeats": repeats, "steps": steps, "seed": int(parser["seed"])}
    drawn = np.concatenate([synthetic_like(sample, rois.held_out, seed).images for seed in range(3)])
    results = {
        "real training ROIs": describe("training", rois.train.images),
        "real held-out ROIs": describe("held-out", rois.held_out.images),
        "synthetic ROIs": describe("synthetic", drawn),
    }
    for probe in args.probes:
        test_rois = probed_rois(rois, probe, args.sigma)
        floor = real_vs_real(test_rois, **options)
        synthetic = realism_scores(probed_sampler(sample, probe, args.sigma), test_rois, **options)
        for scores in (floor, synthetic):
            summary = scores.summary()[POOLED]
            results[f"{probe} / {scores.name}"] = summary
            print(
                f"{probe:>22} {scores.name:>22}: C2ST {summary['mean']:.2f} [{summary['low']:.2f}, "
                f"{summary['high']:.2f}]  repeats {np.round(scores.aucs[POOLED], 2)}"
            )
    print(json.dumps(results))


if __name__ == "__main__":
    main()
