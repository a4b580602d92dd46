"""The realism judge: C2ST, its real-vs-real floor, the fingerprints, and generators without a checkerboard."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch
from scipy import ndimage

from monai_roigan.evaluation import EvaluationROIs, ROISet, judge_realism, real_vs_real, realism_scores
from monai_roigan.evaluation.realism import (
    POOLED,
    RealismScores,
    _halves,
    c2st_aucs,
    generators_to_judge,
    insertion_sampler,
    summarize_aucs,
    synthetic_like,
)
from monai_roigan.evaluation.realism_report import _resolution_line
from monai_roigan.evaluation.statistics import auc_standard_error
from monai_roigan.handlers.checkpoint import load_checkpoint
from monai_roigan.metrics import (
    border_profile,
    mean_power_spectrum,
    radial_profile,
    spectral_ratios,
    upsampling_frequencies,
)
from monai_roigan.networks import load_generator
from monai_roigan.networks.nets import ContextROIGenerator, PerClassGenerator, ROIGenerator
from monai_roigan.utils.errors import CheckpointError

CLASSES = ["architectural_distortion", "asymmetry"]


def _tissue(count: int, seed: int, offset: float = 0.0) -> np.ndarray:
    """(count, 1, 32, 32) smooth random textures in [-1, 1]: a stand-in for real ROIs."""
    rng = np.random.default_rng(seed)
    images = ndimage.gaussian_filter(rng.standard_normal((count, 32, 32)), (0, 2, 2)) * 3
    return np.clip(images + offset, -1, 1).astype(np.float32)[:, None]


def _rois(count: int, seed: int, women: str, offset: float = 0.0) -> ROISet:
    labels = np.arange(count) % 2
    return ROISet(_tissue(count, seed, offset), labels, np.array([f"{women}{k // 2}" for k in range(count)]))


def _sampler(offset: float):
    def sample(class_index: int, count: int, seed: int) -> np.ndarray:
        return _tissue(count, 1000 + 10 * seed + class_index, offset)

    return sample


@pytest.fixture(scope="module")
def rois():
    return EvaluationROIs(_rois(48, 0, "train"), _rois(40, 1, "test"), source="toy textures")


def test_c2st_tells_a_brightness_shift_and_not_the_same_distribution(rois):
    """Known answers: synthetic ROIs 0.4 brighter are told apart (AUC near 1), ROIs of the same texture are not."""
    shifted = realism_scores(_sampler(0.4), rois, CLASSES, repeats=2, steps=40)
    same = realism_scores(_sampler(0.0), rois, CLASSES, repeats=2, steps=40)
    assert min(shifted.aucs[POOLED]) > 0.9 and all(min(shifted.aucs[c]) > 0.85 for c in CLASSES)
    assert 0.3 < np.mean(same.aucs[POOLED]) < 0.7
    assert max(shifted.critic) < 0.5 < min(same.critic)  # the critic's cross-entropy: near 1 when it cannot tell
    assert shifted.sizes == {"train": 48, "test": 40}


def test_the_same_seed_gives_the_same_scores_and_another_seed_other_ones(rois):
    first = realism_scores(_sampler(0.2), rois, CLASSES, repeats=1, steps=10, seed=3)
    again = realism_scores(_sampler(0.2), rois, CLASSES, repeats=1, steps=10, seed=3)
    other = realism_scores(_sampler(0.2), rois, CLASSES, repeats=1, steps=10, seed=4)
    assert first.aucs == again.aucs and first.spectral == again.spectral
    assert first.aucs != other.aucs


def test_the_floor_splits_by_woman_and_sits_near_chance(rois):
    floor = real_vs_real(rois, CLASSES, repeats=2, steps=40)
    assert floor.name == "real vs real (floor)" and floor.sizes == {"train": 24, "test": 20}
    assert 0.25 < np.mean(floor.aucs[POOLED]) < 0.75
    assert all(0.5 < r < 2 for r in floor.spectral.values())  # same texture: power ratio near 1


def test_c2st_per_class_auc_uses_only_that_class(rois):
    """A shift in one class only: that class is told apart, the other is not."""
    synthetic_train, synthetic_test = (synthetic_like(_sampler(0.0), part, 7) for part in (rois.train, rois.held_out))
    for part in (synthetic_train, synthetic_test):
        part.images[part.labels == 1] = np.clip(part.images[part.labels == 1] + 0.5, -1, 1)
    aucs = c2st_aucs(rois.train, synthetic_train, rois.held_out, synthetic_test, CLASSES, steps=60, seed=0)
    assert aucs["asymmetry"] > 0.9 and aucs["architectural_distortion"] < 0.8


def test_summary_interval_over_repeats():
    summary = summarize_aucs([0.6, 0.7, float("nan"), 0.8])
    assert summary["repeats"] == 3 and summary["mean"] == pytest.approx(0.7)
    assert summary["low"] == pytest.approx(0.7 - 4.302653 * 0.1 / np.sqrt(3), abs=1e-4)
    assert summarize_aucs([0.99, 1.0, 1.0])["high"] == 1.0  # clipped to [0, 1]
    assert summarize_aucs([float("nan")])["repeats"] == 0


def test_spectral_ratio_finds_a_checkerboard_at_the_nyquist_frequency():
    real = _tissue(30, 0)
    checker = (np.indices((32, 32)).sum(0) % 2 * 2 - 1) * 0.1
    ratios = spectral_ratios(np.clip(real + checker, -1, 1), real)
    assert set(ratios) == set(upsampling_frequencies(32)) and (16, 16) in ratios
    assert ratios[(16, 16)] > 100 and max(v for f, v in ratios.items() if f != (16, 16)) < 2
    assert upsampling_frequencies(64, (2,)) == [(0, 32), (32, 0), (32, 32)]
    with pytest.raises(ValueError, match="divide the ROI side 64"):
        upsampling_frequencies(64, (3,))
    with pytest.raises(ValueError, match="non-empty sets of equal ROI size"):
        spectral_ratios(real, real[:, :, :16, :16])


def test_border_and_radial_profiles_show_a_frame_and_a_rim():
    images = np.zeros((2, 1, 32, 32), np.float32)
    images[:, :, 0, :] = images[:, :, -1, :] = images[:, :, :, 0] = images[:, :, :, -1] = -0.5  # a dark frame
    border = border_profile(images)
    assert border.shape == (16,) and border[0] == pytest.approx(-0.5) and np.allclose(border[1:], 0)
    yy, xx = np.indices((32, 32)) - 15.5
    disc = (np.hypot(yy, xx) < 8).astype(np.float32)[None, None]
    radial = radial_profile(disc)
    assert radial.shape == (16,) and np.allclose(radial[:7], 1) and np.allclose(radial[9:], 0)


def test_untrained_resize_and_antialiased_generators_have_no_checkerboard_and_a_transposed_one_has():
    """At initialisation, a transposed-convolution generator already puts a few percent of its power at the
    Nyquist frequency (uneven overlap); the resize-convolution and the blurred transposed one put almost none."""
    for seed in range(3):
        shares = {}
        for mode in ("transposed", "resize", "antialiased"):
            torch.manual_seed(seed)
            network = ROIGenerator(16, 2, 1 / 16, 64, upsample=mode).train()  # batch statistics: a varied output
            with torch.no_grad():
                images = network(torch.rand(32, 16) * 2 - 1, torch.arange(32) % 2).numpy()
            power = mean_power_spectrum(images)
            shares[mode] = power[32, 32] / power.sum()
        assert shares["transposed"] > 1e-2 and shares["resize"] < 1e-3 and shares["antialiased"] < 1e-5, shares


def test_every_upsampling_layout_loads_from_its_file_with_the_same_outputs(tmp_path):
    for make in (
        lambda mode: ROIGenerator(16, 2, 1 / 32, 64, upsample=mode),
        lambda mode: PerClassGenerator(2, 16, 1 / 32, 64, upsample=mode),
    ):
        for mode in ("transposed", "resize", "antialiased"):
            torch.manual_seed(0)
            network = make(mode).eval()
            torch.save(network.state_dict(), tmp_path / "g.pt")
            loaded = load_generator(tmp_path / "g.pt")
            z, labels = torch.rand(3, 16), torch.tensor([0, 1, 1])
            assert loaded.upsample_mode == mode
            torch.testing.assert_close(loaded(z, labels), network(z, labels))
    with pytest.raises(ValueError, match="upsample must be one of"):
        ROIGenerator(upsample="bilinear")
    assert ROIGenerator().upsample_mode == "transposed"  # the library default, as train.json's and paper.json's


def test_resuming_an_old_checkpoint_into_a_resize_generator_says_how(tmp_path):
    old = ROIGenerator(16, 2, 1 / 32, 64, upsample="transposed")
    torch.save({"generator": old.state_dict()}, tmp_path / "checkpoint_10.pt")
    with pytest.raises(CheckpointError, match="'transposed' layers and the configured one with 'resize'") as raised:
        load_checkpoint(
            tmp_path / "checkpoint_10.pt", {"generator": ROIGenerator(16, 2, 1 / 32, 64, upsample="resize")}
        )
    assert '"upsample": "transposed"' in str(raised.value) and "checkpoint_10.pt" in str(raised.value)


def test_judge_realism_writes_a_report_with_the_floor_and_every_generator(rois, tmp_path):
    torch.manual_seed(0)
    generators = [ROIGenerator(16, 2, 1 / 32, 32, upsample=mode).eval() for mode in ("transposed", "resize")]
    report = judge_realism(generators, rois, tmp_path, CLASSES, repeats=2, steps=3)
    text = report.read_text()
    assert report.name == "realism.md" and text.count("| ROIGenerator sha256:") >= 2
    assert "| real vs real (floor) |" in text and "toy textures" in text
    rows = list(csv.DictReader(open(tmp_path / "realism_c2st.csv")))
    assert len(rows) == 3 * 2 * (1 + len(CLASSES))  # floor and 2 generators, 2 repeats, pooled and each class
    assert all(0 <= float(r["auc"]) <= 1 for r in rows)
    critic = [float(r["critic_score"]) for r in rows if r["class_name"] == POOLED]
    assert len(critic) == 3 * 2 and all(v > 0 for v in critic) and "| critic score |" in text
    assert all(r["critic_score"] == "" for r in rows if r["class_name"] != POOLED)
    spectrum = list(csv.DictReader(open(tmp_path / "realism_spectrum.csv")))
    assert len(spectrum) == 3 * len(upsampling_frequencies(32))
    profiles = list(csv.DictReader(open(tmp_path / "realism_profiles.csv")))
    assert len(profiles) == 3 * 2 * 16
    floor_rows = [r for r in rows if r["candidates"] == "real vs real (floor)" and r["class_name"] == POOLED]
    floor = np.mean([float(r["auc"]) for r in floor_rows])
    size = len(rois.held_out)  # each candidate is tested on every held-out ROI against as many of its own
    seed, repeats = 0, 2  # judge_realism's default seed and the repeats above
    floor_size = len(_halves(rois.held_out, seed + repeats - 1)[0])  # the floor's "real" half in its last repeat
    assert 0 < floor_size <= size // 2
    error = np.hypot(auc_standard_error(floor, size, size), auc_standard_error(floor, floor_size, floor_size))
    assert (
        f"**Resolution**: with {size} held-out real ROIs against as many candidates, and {floor_size} a side in the "
        f"floor's test, the difference between a C2ST AUC and the floor's {floor:.2f} has a sampling standard error "
        f"of about {error:.2f}" in text
    )
    assert (
        f"A candidate whose true C2ST lies less than about {2.8016 * error:.2f} above the floor is told from it with "
        "less than 80% power (two-sided test at 5%)." in text
    )


def test_resolution_of_a_c2st_against_its_floor_from_the_test_sizes():
    floor = RealismScores("floor", {POOLED: [0.55, 0.63]}, [1.0, 1.0], {}, {}, {}, sizes={"train": 20, "test": 8})
    scores = RealismScores("x", {POOLED: [1.0]}, [0.1], {}, {}, {}, sizes={"train": 47, "test": 20})
    resolution = scores.resolution(floor)
    assert resolution["floor"] == pytest.approx(0.59)
    error = np.hypot(auc_standard_error(0.59, 20, 20), auc_standard_error(0.59, 8, 8))
    assert resolution["standard_error"] == pytest.approx(error)
    assert resolution["standard_error"] == pytest.approx(0.171, abs=1e-3)  # MIAS: 20 held-out ROIs, floor 8 a side
    assert resolution["smallest_difference"] == pytest.approx((1.959964 + 0.841621) * error)
    stricter = scores.resolution(floor, power=0.9)
    assert stricter["smallest_difference"] == pytest.approx((1.959964 + 1.281552) * error)
    larger = RealismScores("x", {POOLED: [1.0]}, [0.1], {}, {}, {}, sizes={"test": 108})
    assert larger.resolution(floor)["standard_error"] < error  # the floor's own error remains
    assert np.isnan(RealismScores("x", {}, [], {}, {}, {}).resolution(floor)["standard_error"])  # no sizes known
    floor_without_size = RealismScores("floor", {POOLED: [0.6]}, [1.0], {}, {}, {})
    assert np.isnan(scores.resolution(floor_without_size)["standard_error"])
    unknown_floor = RealismScores("floor", {POOLED: [float("nan")]}, [1.0], {}, {}, {}, sizes={"test": 8})
    assert np.isnan(scores.resolution(unknown_floor)["smallest_difference"])
    assert _resolution_line(floor, [], 0.05) == [] and _resolution_line(unknown_floor, [scores], 0.05) == []
    assert _resolution_line(floor, [scores], 0.05)[0].startswith("**Resolution**: with 20 held-out real ROIs")


def test_judge_realism_judges_insertions_made_of_each_sides_own_lesions(rois, tmp_path):
    normal = {"normal_train": _rois(20, 5, "train"), "normal_held_out": _rois(20, 6, "test")}
    with_normals = rois._replace(**normal)
    insertions = {
        "transplant": {"method": "transplant"},
        "seamless": {"method": "copy_paste", "mask_shape": "random", "blend_modes": ["hard", "poisson"]},
    }
    report = judge_realism([], with_normals, tmp_path, CLASSES, repeats=1, steps=3, insertions=insertions)
    assert "| transplant |" in report.read_text() and "| seamless |" in report.read_text()
    train_only = insertion_sampler(rois.train, normal["normal_train"], "transplant")
    first, again = train_only(1, 3, seed=5), train_only(1, 3, seed=5)
    assert first.shape == (3, 1, 32, 32) and np.array_equal(first, again)
    tissue = insertion_sampler(rois.train, normal["normal_train"], "tissue")
    assert not np.array_equal(tissue(0, 6, seed=5), tissue(1, 6, seed=5)), "classes draw their own tissue"
    tissue = insertion_sampler(rois.train, normal["normal_train"], "tissue")(0, 4, seed=2)
    assert all(any(np.array_equal(t, n) for n in normal["normal_train"].images) for t in tissue), "tissue as it is"
    with pytest.raises(ValueError, match="needs normal-tissue ROIs"):
        judge_realism([], rois, tmp_path, CLASSES, repeats=1, steps=3, insertions=insertions)
    torch.manual_seed(0)
    painter = ContextROIGenerator(latent_dim=8, num_classes=2, width=0.0625, output_size=32).eval()
    inserted = insertion_sampler(
        rois.train, normal["normal_train"], "inserted", generator=painter, generator_classes=CLASSES
    )
    painted = inserted(1, 3, seed=4)
    assert painted.shape == (3, 1, 32, 32) and np.array_equal(painted, inserted(1, 3, seed=4))
    kept = painter.mask[0, 0].numpy() == 0
    assert all(any(np.array_equal(p[0][kept], n[0][kept]) for n in normal["normal_train"].images) for p in painted)
    residuals = ROIGenerator(16, 2, 1 / 32, 32).eval()
    grown = insertion_sampler(
        rois.train, normal["normal_train"], "synthetic_transplant", generator=residuals, generator_classes=CLASSES
    )
    added = grown(0, 3, seed=4)
    assert added.shape == (3, 1, 32, 32) and np.array_equal(added, grown(0, 3, seed=4))
    assert not np.array_equal(added, grown(0, 3, seed=5)), "new residuals for another seed"
    far = np.hypot(*np.indices((32, 32)) - 15.5) > 0.9 * 16  # outside the disc, zoomed and warped
    assert all(any(np.allclose(a[0][far], n[0][far], atol=1e-6) for n in normal["normal_train"].images) for a in added)
    with pytest.raises(ValueError, match="unknown insertion method 'glue'"):
        insertion_sampler(rois.train, normal["normal_train"], "glue")
    with pytest.raises(ValueError, match=r"realism_insertions\['typo'\].*radius"):
        judge_realism(
            [], with_normals, tmp_path, CLASSES, 1, 3, insertions={"typo": {"method": "copy_paste", "radius": 1}}
        )
    with pytest.raises(ValueError, match=r"realism_insertions\['no method'\].*KeyError\('method'\)"):
        judge_realism([], with_normals, tmp_path, CLASSES, 1, 3, insertions={"no method": {"outer": 0.9}})


def test_the_floors_halves_are_disjoint_by_woman_and_hold_as_many_rois_of_each_class():
    """Women of lopsided class mixes: without the cut, one half would hold more of a class and the classifier could
    read the class instead of the woman."""
    labels = np.array([0] * 12 + [1] * 4 + [0, 1] * 6)
    groups = np.array([f"w{k // 4}" for k in range(16)] + [f"v{k // 2}" for k in range(12)])
    rois = ROISet(_tissue(len(labels), 3), labels, groups)
    for seed in range(5):
        first, second = _halves(rois, seed)
        assert not set(first.groups) & set(second.groups)
        assert [int((first.labels == k).sum()) for k in (0, 1)] == [int((second.labels == k).sum()) for k in (0, 1)]
        assert len(first) >= 4 and set(first.labels) == {0, 1}
    only_first = ROISet(rois.images[:16], labels[:16], groups[:16])  # class 1 of one woman only
    one, other = _halves(only_first, 0)
    assert 1 not in set(one.labels) | set(other.labels), "a class one half lacks is left out of both"


def test_the_realism_run_judges_every_training_checkpoint_by_iteration(tmp_path):
    for name in ("checkpoint_900.pt", "checkpoint_1000.pt", "best_checkpoint_800_quality=0.5.pt", "tmp123.pt"):
        (tmp_path / name).write_bytes(b"x")
    assert [p.name for p in generators_to_judge(tmp_path, "model.pt")] == ["checkpoint_900.pt", "checkpoint_1000.pt"]
    assert generators_to_judge(None, "model.pt") == ["model.pt"]
    with pytest.raises(FileNotFoundError, match="no checkpoint_<iteration>.pt"):
        generators_to_judge(tmp_path / "empty", "model.pt")


def test_realism_refuses_missing_held_out_rois_and_no_repeats(rois):
    empty = EvaluationROIs(rois.train, rois.held_out.subset(np.zeros(len(rois.held_out), bool)))
    with pytest.raises(ValueError, match=r"rois.held_out holds 0"):
        realism_scores(_sampler(0.0), empty, CLASSES)
    with pytest.raises(ValueError, match="at least one repeat"):
        real_vs_real(rois, CLASSES, repeats=0)
