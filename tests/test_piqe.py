"""PIQE: block-level criteria on hand-built MSCN blocks, known scores, noise and blockiness, input checks."""

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from monai_roigan.metrics.piqe import (
    noisy_block,
    noticeable_artifact,
    piqe,
    piqe_maps,
    piqe_scores,
    quality_band,
)


def texture(size: int = 64, seed: int = 0, smooth: float = 1.0, amplitude: float = 0.2) -> np.ndarray:
    """A fine, stationary random texture in [-1, 1]: Gaussian-smoothed white noise (std ``amplitude``)."""
    field = gaussian_filter(np.random.default_rng(seed).standard_normal((size, size)), smooth, mode="wrap")
    return amplitude * field / field.std()


def add_noise(image: np.ndarray, sigma: float, seed: int = 100) -> np.ndarray:
    return np.clip(image + sigma * np.random.default_rng(seed).standard_normal(image.shape), -1.0, 1.0)


def block_average(image: np.ndarray, side: int) -> np.ndarray:
    h, w = image.shape
    means = image.reshape(h // side, side, w // side, side).mean(axis=(1, 3))
    return means.repeat(side, 0).repeat(side, 1)


def busy_block(seed: int = 0) -> np.ndarray:
    """A 16x16 'MSCN' block of N(0, 1) values: every 6-px edge segment varies (its std is far above 0.1)."""
    return np.random.default_rng(seed).standard_normal((16, 16))


# --- noticeable-artifact criterion (edge segments of 6 px, std < 0.1) -------------------------------------


def test_busy_block_has_no_noticeable_artifact():
    assert not noticeable_artifact(busy_block())


@pytest.mark.parametrize("edge", ["top", "bottom", "left", "right"])
def test_flat_six_pixel_run_on_any_edge_is_a_noticeable_artifact(edge):
    block = busy_block()
    runs = {
        "top": (0, slice(5, 11)),
        "bottom": (-1, slice(0, 6)),
        "left": (slice(10, 16), 0),
        "right": (slice(3, 9), -1),
    }
    block[runs[edge]] = 0.7
    assert noticeable_artifact(block)


def test_flat_run_of_five_pixels_or_inside_the_block_is_not_an_artifact():
    five = busy_block()
    # 5 equal values: the two 6-px windows holding all five have std 1.3 / sqrt(6) = 0.53 and 2.7 / sqrt(6) = 1.10
    five[0, 4:11] = [2.0, 0.7, 0.7, 0.7, 0.7, 0.7, -2.0]
    inside = busy_block()
    inside[8, :] = 0.7  # a whole flat row, but not on an edge
    assert not noticeable_artifact(five)
    assert not noticeable_artifact(inside)


@pytest.mark.parametrize(("amplitude", "fires"), [(0.08, True), (0.1, False)])
def test_artifact_threshold_is_segment_std_0_1(amplitude, fires):
    # an alternating run +-a over 6 px has sample std a * sqrt(6 / 5): 0.0876 (fires) and 0.1095 (does not)
    block = busy_block()
    block[0, 2:8] = 0.3 + amplitude * np.array([1, -1, 1, -1, 1, -1])
    assert bool(noticeable_artifact(block)) is fires


def test_block_criteria_accept_stacks_of_blocks():
    flat_edge = busy_block(1)
    flat_edge[:, 0] = 0.0
    stack = np.stack([busy_block(0), flat_edge])
    assert noticeable_artifact(stack).tolist() == [False, True]
    assert noisy_block(stack).shape == (2,)


# --- noise criterion (sigma > 2 beta, beta = |sigma - r| / max(sigma, r)) ---------------------------------


@pytest.mark.parametrize(("amplitude", "noisy"), [(0.6, False), (0.75, True)])
def test_noise_criterion_on_a_checkerboard(amplitude, noisy):
    # a +-a checkerboard: centre/surround std ratio r = sqrt(32/31) / sqrt(224/223) = 1.0137 and
    # sigma = a sqrt(256/255); a = 0.6: beta = 0.407, 2 beta = 0.81 > sigma = 0.60 (not noise);
    # a = 0.75: beta = 0.257, 2 beta = 0.51 < sigma = 0.75 (noise)
    board = amplitude * np.where((np.arange(16)[:, None] + np.arange(16)[None, :]) % 2 == 0, 1.0, -1.0)
    assert bool(noisy_block(board)) is noisy


def test_structure_only_in_the_centre_or_only_around_it_is_not_noise():
    rng = np.random.default_rng(3)
    centre_only = np.zeros((16, 16))
    centre_only[:, 7:9] = rng.standard_normal((16, 2))  # r huge: beta ~ 1
    surround_only = 0.8 * rng.standard_normal((16, 16))
    surround_only[:, 7:9] = 0.0  # r = 0: beta = 1
    white = 0.85 * rng.standard_normal((16, 16))  # r ~ 1, sigma ~ 0.85: beta ~ 0.15
    assert not noisy_block(centre_only)
    assert not noisy_block(surround_only)
    assert noisy_block(white)


# --- whole-image scores --------------------------------------------------------------------------------


def test_constant_image_has_no_active_block_and_scores_100():
    # N_sa = 0: PIQE = 100 (0 + C1) / (0 + C1) = 100, as MATLAB documents for uniform images
    for value in (-1.0, 0.0, 0.37, 1.0):
        maps = piqe_maps(np.full((64, 64), value))
        assert maps.score == 100.0
        assert not maps.activity.any()
    assert quality_band(100.0) == "bad"


def test_blocks_flat_on_the_16_px_grid_are_inactive_and_score_100():
    maps = piqe_maps(block_average(texture(), 16))
    assert maps.activity.sum() == 0
    assert maps.score == 100.0


def test_clean_fine_texture_scores_excellent_and_noise_raises_the_score():
    sigmas = (0.0, 0.1, 0.2, 0.4)  # in [-1, 1] units: 0, 12.75, 25.5 and 51 grey levels
    scores = [piqe(add_noise(texture(), s)) for s in sigmas]
    # measured: 10.0, 44.1, 64.3, 74.0
    assert np.all(np.diff(scores) > 5.0), scores
    assert quality_band(scores[0]) == "excellent"
    assert quality_band(scores[-1]) == "poor"
    noisy = piqe_maps(add_noise(texture(), 0.4))
    assert noisy.activity.all() and noisy.noise.all() and not noisy.artifact.any()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_noise_ordering_holds_for_other_textures(seed):
    scores = [piqe(add_noise(texture(128, seed), s, seed=seed + 10)) for s in (0.0, 0.1, 0.2, 0.4)]
    assert np.all(np.diff(scores) > 5.0), scores


def test_jpeg_like_8px_blocks_score_worse_than_the_original():
    original = texture()
    blocky = piqe_maps(block_average(original, 8))
    # measured: 87.5 (11 active blocks, all with a noticeable artifact) against 10.0
    assert blocky.score > piqe(original) + 50.0
    assert blocky.artifact.sum() == blocky.activity.sum() > 0
    assert not blocky.noise.any()


def test_smooth_texture_scores_worse_than_with_light_noise():
    # PIQE penalises smoothness: flat edge segments fire the artifact criterion (measured 76.1); light noise
    # breaks them and leaves 16 active, undistorted blocks: exactly 100 * (0 + 1) / (16 + 1) = 5.88
    smooth = texture(smooth=2.0)
    assert piqe(smooth) > 60.0
    assert piqe(add_noise(smooth, 0.05, seed=1)) == pytest.approx(100.0 / 17.0)


def test_score_is_the_pooled_block_distortion():
    maps = piqe_maps(add_noise(texture(), 0.1))
    v = maps.variance
    expected = 100.0 * (np.sum(maps.artifact * (1 - v) + maps.noise * v) + 1.0) / (maps.activity.sum() + 1.0)
    assert maps.score == pytest.approx(expected)
    assert maps.activity.shape == (4, 4)
    assert np.all((maps.distortion >= 0) & (maps.distortion <= 1))
    assert np.all(maps.distortion[~maps.activity] == 0)


def test_scores_lie_in_0_100():
    rng = np.random.default_rng(5)
    images = [
        rng.uniform(-1, 1, (64, 64)),
        np.where(rng.random((64, 64)) < 0.5, 1.0, -1.0),
        np.where(rng.random((64, 64)) < 0.03, 1.0, -1.0),  # isolated specks
        texture(64, 7, smooth=4.0, amplitude=0.9),
        add_noise(texture(), 2.0),
    ]
    scores = piqe_scores(np.stack(images))
    assert np.all((scores >= 0.0) & (scores <= 100.0)), scores


def test_sides_not_multiple_of_16_are_cropped():
    image = texture(80)[:70, :75]
    maps = piqe_maps(image)
    assert maps.activity.shape == (4, 4)
    assert maps.score == piqe(image[:64, :64])


def test_batch_shapes_and_determinism():
    images = np.stack([texture(64, s) for s in range(3)])
    batch = piqe_scores(images[:, None])
    assert batch.shape == (3,) and batch.dtype == np.float64
    np.testing.assert_array_equal(batch, piqe_scores(images))
    np.testing.assert_array_equal(batch, [piqe(image) for image in images])
    assert piqe(images[0]) == piqe(images[0][None]) == piqe(images[0].astype(np.float32))


def test_quality_bands():
    assert [quality_band(s) for s in (0, 20, 20.5, 35, 50, 50.1, 80, 81, 100)] == [
        "excellent",
        "excellent",
        "good",
        "good",
        "fair",
        "poor",
        "poor",
        "bad",
        "bad",
    ]


@pytest.mark.parametrize("shape", [(15, 64), (64, 8), (3, 64, 64), (64,), (1, 1, 64, 64)])
def test_piqe_rejects_bad_shapes(shape):
    with pytest.raises(ValueError):
        piqe(np.zeros(shape))


@pytest.mark.parametrize("shape", [(2, 3, 64, 64), (64, 64), (2, 1, 8, 64)])
def test_piqe_scores_rejects_bad_shapes(shape):
    with pytest.raises(ValueError):
        piqe_scores(np.zeros(shape))
