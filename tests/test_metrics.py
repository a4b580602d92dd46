"""Evaluation metrics against known answers: identical sets, exact shifts and scalings, noised and shifted copies."""

import numpy as np
import pytest
import torch
from monai.metrics import FIDMetric
from skimage.metrics import structural_similarity

from monai_roigan.metrics import (
    REFERENCE_METRICS,
    domain_features,
    fit_niqe_model,
    frechet_distance,
    geometry_score,
    kernel_distance,
    memorization_check,
    niqe,
    pair_metrics,
    precision_recall,
    reference_metrics,
    relative_living_times,
)
from monai_roigan.metrics.fsim import fsim, phase_congruency
from monai_roigan.metrics.niqe import fit_aggd, fit_ggd
from monai_roigan.networks import ROIClassifier


def rois(n=24, seed=0):
    """Smooth random ROIs (N, 1, 32, 32) in [-1, 1]: blurred noise, so SSIM has structure to compare."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 1, 36, 36))
    x = sum(x[..., i : i + 32, j : j + 32] for i in range(5) for j in range(5)) / 25
    return np.tanh(x * 3).astype(np.float32)


def test_identical_images_give_the_perfect_values():
    a = (rois(1)[0, 0] + 1) / 2
    assert pair_metrics(a, a) == {"mse": 0.0, "psnr": float("inf"), "ssim": 1.0, "dssim": 0.0, "fsim": 1.0}


def test_psnr_of_a_known_offset_and_ssim_agrees_with_scikit_image():
    a = np.full((32, 32), 0.4)
    assert pair_metrics(a, a + 0.1)["psnr"] == pytest.approx(20.0)  # mse 0.01 -> 10 log10(1 / 0.01)
    x, y = rois(2, seed=3)
    metrics = reference_metrics(x[None], [0], y[None], [0])[0]
    expected = structural_similarity((x[0] + 1) / 2, (y[0] + 1) / 2, data_range=1.0)
    assert metrics["ssim"] == pytest.approx(expected) and metrics["dssim"] == pytest.approx((1 - expected) / 2)


def test_nearest_pairing_finds_the_copy_and_degraded_copies_score_worse_on_every_metric():
    real, labels = rois(), np.arange(24) % 2
    rng = np.random.default_rng(1)
    sets = {
        "copy": real[::-1].copy(),
        "noised": np.clip(real[::-1] + rng.normal(0, 0.3, real.shape), -1, 1),
        "shifted": np.roll(real[::-1], 4, axis=-1),
    }
    scores = {}
    for name, fake in sets.items():
        rows = reference_metrics(fake, labels[::-1], real, labels, pairing="nearest")
        scores[name] = {k: np.mean([r[k] for r in rows]) for k in ("mse", "ssim", "dssim", "fsim")}
        scores[name]["psnr"] = np.median([r["psnr"] for r in rows])
        if name == "copy":
            assert [r["reference"] for r in rows] == list(range(23, -1, -1))
    assert scores["copy"]["mse"] == 0 and scores["copy"]["psnr"] == float("inf") and scores["copy"]["ssim"] == 1
    assert scores["copy"]["fsim"] == 1
    for worse in ("noised", "shifted"):
        assert scores[worse]["mse"] > 0 and scores[worse]["psnr"] < np.inf
        assert scores[worse]["ssim"] < 1 and scores[worse]["dssim"] > 0 and scores[worse]["fsim"] < 1


def test_random_pairing_is_seeded_and_stays_within_the_class():
    real, labels = rois(), np.arange(24) % 3
    first = reference_metrics(real[:6], labels[:6], real, labels, pairing="random", seed=5)
    assert first == reference_metrics(real[:6], labels[:6], real, labels, pairing="random", seed=5)
    assert all(labels[r["reference"]] == r["label"] for r in first) and set(first[0]) >= set(REFERENCE_METRICS)
    with pytest.raises(ValueError, match="no real ROI of class 7"):
        reference_metrics(real[:1], [7], real, labels)


def gaussian(n=400, d=5, seed=0):
    return np.random.default_rng(seed).normal(size=(n, d)) @ np.diag([1.0, 2.0, 0.5, 1.5, 1.0])


def test_fid_known_values():
    x = gaussian()
    assert abs(frechet_distance(x, x)) < 1e-8
    shift = np.array([1.0, -2.0, 0.5, 0.0, 3.0])
    assert frechet_distance(x, x + shift) == pytest.approx((shift**2).sum(), rel=1e-6)  # same covariance
    centred = x - x.mean(0)
    expected = np.trace(np.cov(centred, rowvar=False))  # scaling by 2: 0 + T + 4T - 2 * 2T = T
    assert frechet_distance(centred, 2 * centred) == pytest.approx(expected, rel=1e-6)


def eigen_fid(real: np.ndarray, fake: np.ndarray) -> float:
    """An independent FID: the trace of (S1 S2)^1/2 from the eigenvalues of the symmetric S1^1/2 S2 S1^1/2."""
    s1, s2 = np.cov(real, rowvar=False), np.cov(fake, rowvar=False)
    values, vectors = np.linalg.eigh(s1)
    root1 = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    trace_root = np.sqrt(np.clip(np.linalg.eigvalsh(root1 @ s2 @ root1), 0, None)).sum()
    return float(((real.mean(0) - fake.mean(0)) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2.0 * trace_root)


def test_fid_is_monai_fidmetric_and_agrees_with_an_independent_formula():
    real, fake = gaussian(n=300, seed=1), gaussian(n=200, seed=2) * 1.3 + 0.2
    assert frechet_distance(real, fake) == pytest.approx(eigen_fid(real, fake), rel=1e-6)
    assert frechet_distance(real, fake) == pytest.approx(float(FIDMetric()(torch.tensor(fake), torch.tensor(real))))
    with pytest.raises(ValueError, match=r"D >= 2"):
        frechet_distance(real[:, :1], fake[:, :1])


def test_kid_near_zero_for_one_distribution_and_larger_for_a_shifted_one():
    x, y = gaussian(seed=0), gaussian(seed=1)
    same, spread = kernel_distance(x, y, subsets=20, subset_size=100)
    shifted, _ = kernel_distance(x, y + 1.0, subsets=20, subset_size=100)
    assert abs(same) < 3 * spread + 1e-3 and shifted > 10 * max(abs(same), 1e-3)
    assert kernel_distance(x, y, subsets=5, seed=2) == kernel_distance(x, y, subsets=5, seed=2)


def test_precision_recall_identical_far_and_collapsed_sets():
    x = gaussian()
    assert precision_recall(x, x) == (1.0, 1.0)
    assert precision_recall(x, x + 100.0) == (0.0, 0.0)
    collapsed = np.repeat(x[:8], 50, axis=0)  # every fake is a real sample: full precision, poor coverage
    precision, recall = precision_recall(x, collapsed)
    assert precision == 1.0 and recall < 0.2


def test_memorization_flags_an_exact_copy_and_not_new_samples():
    train = rois(24, seed=0)
    held_out = rois(24, seed=1)
    new = rois(24, seed=2)
    fake = new.copy()
    fake[5] = train[17]
    report = memorization_check(fake, train, held_out)
    assert report["copies"] == [5]
    clean = memorization_check(new, train, held_out)
    assert clean["copies"] == [] and clean["closer_than_heldout"] < 0.25
    assert 0.5 < clean["median_ratio"] < 2.0
    copied = memorization_check(train[:12], train, held_out)
    assert copied["closer_than_heldout"] == 1.0 and copied["median_ratio"] < 1e-9


def test_domain_features_are_the_pooled_convolution_blocks():
    torch.manual_seed(0)
    classifier = ROIClassifier(4, 32).eval()
    classifier.train()
    features = domain_features(classifier, rois(5))
    assert features.shape == (5, 64) and np.isfinite(features).all() and classifier.training  # mode restored
    classifier.eval()
    with torch.no_grad():
        manual = torch.nn.Sequential(*list(classifier)[:4])(torch.as_tensor(rois(5))).mean(dim=(2, 3)).double().numpy()
    np.testing.assert_allclose(features, manual, atol=1e-6)
    np.testing.assert_allclose(features, domain_features(classifier, rois(5), batch_size=2), atol=1e-5)


def circle(n, seed):
    rng = np.random.default_rng(seed)
    angle = rng.uniform(0, 2 * np.pi, n)
    return np.c_[np.cos(angle), np.sin(angle)] + rng.normal(0, 0.05, (n, 2))


def test_geometry_score_separates_topologies_and_is_seeded():
    ring, other_ring = circle(300, 0), circle(300, 1)
    blob = np.random.default_rng(1).normal(size=(300, 2))
    same = geometry_score(ring, other_ring, repeats=20)
    assert same < 0.01 and geometry_score(ring, blob, repeats=20) > 30 * same
    rlt = relative_living_times(ring, repeats=5, seed=3)
    assert rlt.shape == (100,) and rlt.sum() == pytest.approx(1.0)
    assert rlt[1] > 0.3 > relative_living_times(blob, repeats=5, seed=3)[1]  # the ring's one loop lives long
    np.testing.assert_array_equal(rlt, relative_living_times(ring, repeats=5, seed=3))
    with pytest.raises(ValueError, match="point cloud"):
        geometry_score(ring[:2], ring)


def test_ggd_and_aggd_fits_recover_known_shapes():
    rng = np.random.default_rng(0)
    assert fit_ggd(rng.normal(0, 1, 200_000)) == pytest.approx((2.0, 1.0), abs=0.02)
    assert fit_ggd(rng.laplace(0, 1, 200_000)) == pytest.approx((1.0, 2.0), abs=0.03)  # Laplace(b=1): variance 2
    left = rng.random(300_000) < 1 / 3  # an AGGD with sigma_l = 1, sigma_r = 2 puts 1/3 of its mass left
    x = np.where(left, -np.abs(rng.normal(0, 1, 300_000)), np.abs(rng.normal(0, 2, 300_000)))
    shape, mean, var_l, var_r = fit_aggd(x)
    assert shape == pytest.approx(2.0, abs=0.05) and (var_l, var_r) == pytest.approx((1.0, 4.0), rel=0.02)
    assert mean == pytest.approx(np.mean(x), abs=0.02)


def test_domain_niqe_ranks_noise_and_blur_as_further_from_the_real_rois():
    from scipy.ndimage import gaussian_filter

    real, held_out = rois(60, seed=0), rois(20, seed=1)
    model = fit_niqe_model(real)
    noised = np.clip(held_out + np.random.default_rng(2).normal(0, 0.2, held_out.shape), -1, 1)
    blurred = gaussian_filter(held_out, (0, 0, 1.5, 1.5))
    scores = {
        name: niqe(images, model).mean()
        for name, images in (("held_out", held_out), ("noised", noised), ("blurred", blurred))
    }
    assert scores["held_out"] < scores["noised"] / 3 and scores["held_out"] < scores["blurred"] / 3
    np.testing.assert_array_equal(niqe(held_out[:3], model), niqe(held_out[:3], fit_niqe_model(real)))
    with pytest.raises(ValueError, match="sharp patch"):
        fit_niqe_model(real[:1, :, :32, :32])


def test_fsim_falls_with_noise_and_blur_and_phase_congruency_marks_edges():
    from scipy.ndimage import gaussian_filter

    a = (rois(1)[0, 0] + 1) / 2
    rng = np.random.default_rng(0)
    noised = [fsim(a, np.clip(a + rng.normal(0, s, a.shape), 0, 1)) for s in (0.02, 0.05, 0.1, 0.2)]
    blurred = [fsim(a, gaussian_filter(a, s)) for s in (0.5, 1.0, 2.0)]
    assert fsim(a, a) == 1.0 and noised == sorted(noised, reverse=True) and blurred == sorted(blurred, reverse=True)
    assert noised[-1] < 0.9 and blurred[-1] < 0.75
    step = np.zeros((64, 64))
    step[:, 32:] = 255.0
    congruency = phase_congruency(step)
    assert congruency[:, 31:33].min() > 2 * congruency[:, 8:12].max() and congruency.max() <= 1.0


def test_gray_stack_takes_one_channel_stacks_and_names_a_bad_shape():
    from monai_roigan.metrics.image_stack import gray_stack

    images = np.random.default_rng(0).uniform(-1, 1, (3, 1, 8, 8)).astype(np.float32)
    stack = gray_stack(images)
    assert stack.shape == (3, 8, 8) and stack.dtype == np.float64 and np.array_equal(stack, images[:, 0])
    assert np.array_equal(gray_stack(images[:, 0]), stack)
    with pytest.raises(ValueError, match=r"one channel, got shape \(3, 2, 8, 8\)"):
        gray_stack(np.zeros((3, 2, 8, 8)))
    with pytest.raises(ValueError, match=r"got shape \(8, 8\)"):
        gray_stack(np.zeros((8, 8)))
