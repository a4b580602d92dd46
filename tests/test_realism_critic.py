"""Select by realism: the real-vs-synthetic critic, the realism score during training (and the best checkpoint it
picks), and the realism sample filter."""

import re

import numpy as np
import pytest
import torch
from ignite.engine import Engine

from monai_roigan.apps import RealismFilter
from monai_roigan.engines import (
    ScoreEvents,
    ensure_score_events,
    fire_scored,
    fit_realism_critic,
    lesion_weights,
    real_probability,
    realism_score,
    train_roi_classifier,
)
from monai_roigan.evaluation.realism import network_sampler
from monai_roigan.handlers import GanCheckpointSaver, GeneratorRealism
from monai_roigan.networks.nets import ROIGenerator
from monai_roigan.networks.sampling import run_generator
from tests.test_trainer import make_trainer

SIZE = 32


def texture(n, seed, checker=0.0, size=SIZE):
    """(n, 1, S, S) smooth random textures in [-1, 1]; ``checker`` adds a one-pixel checkerboard of that amplitude."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.randn(n, 1, size // 4, size // 4, generator=g)
    images = 0.4 * torch.nn.functional.interpolate(coarse, size=size, mode="bilinear", align_corners=False)
    grid = (torch.arange(size).view(-1, 1) + torch.arange(size).view(1, -1)) % 2 * 2 - 1
    return (images + checker * grid).clamp(-1, 1)


def test_the_critic_tells_a_checkerboard_and_scores_about_one_when_it_cannot_tell():
    real, fake = texture(64, 0), texture(64, 1, checker=0.2)
    critic = fit_realism_critic(real, fake, steps=40, seed=0)
    new_real, new_fake = texture(32, 2), texture(32, 3, checker=0.2)
    assert real_probability(critic, new_real).min() > 0.5 > real_probability(critic, new_fake).max()
    assert realism_score(critic, new_real, new_fake) < 0.3
    same = fit_realism_critic(real, texture(64, 1), steps=40, seed=0)
    assert 0.8 < realism_score(same, new_real, texture(32, 3)) < 1.5  # ln 2 per ROI, in units of ln 2: 1
    again = fit_realism_critic(real, fake, steps=40, seed=0)
    torch.testing.assert_close(real_probability(critic, new_fake), real_probability(again, new_fake))  # same seed


def test_real_weights_share_the_real_draws():
    """With all weight on the bright real ROIs, the critic never sees the dark ones: it calls them synthetic."""
    bright, dark, fake = texture(32, 0) + 0.5, texture(32, 1) - 0.5, texture(64, 2)
    weights = torch.cat([torch.ones(32), torch.zeros(32)])
    critic = fit_realism_critic(torch.cat([bright, dark]).clamp(-1, 1), fake, steps=60, seed=0, real_weights=weights)
    assert real_probability(critic, (texture(16, 3) - 0.5).clamp(-1, 1)).mean() < 0.5
    assert real_probability(critic, (texture(16, 3) + 0.5).clamp(-1, 1)).mean() > 0.5


def test_critic_and_weights_errors_name_the_problem():
    real = texture(4, 0)
    with pytest.raises(ValueError, match="synthetic must be ROIs"):
        fit_realism_critic(real, torch.zeros(0, 1, SIZE, SIZE))
    with pytest.raises(ValueError, match=r"real must be ROIs .* shape \(4, 32, 32\)"):
        fit_realism_critic(real[:, 0], real)
    with pytest.raises(ValueError, match="differ"):
        fit_realism_critic(real, torch.zeros(4, 1, 16, 16))
    with pytest.raises(ValueError, match="real_weights must be 4 numbers, one per item; got 2"):
        fit_realism_critic(real, real, real_weights=[1, 1])
    items = [{"image": r, "label": 0} for r in torch.cat([real, real])]
    with pytest.raises(ValueError, match="weights must be finite and non-negative; got a minimum of -1"):
        train_roi_classifier(items, 2, steps=1, weights=[-1] * 8)
    with pytest.raises(ValueError, match="weights are all 0"):
        train_roi_classifier(items, 2, steps=1, weights=[0] * 8)


def test_lesion_weights_give_the_lesions_their_share():
    weights = lesion_weights([0, 1, 1, 2, 2, 2, 2, 2], num_classes=2, lesion_share=0.25)
    assert float(weights.sum()) == pytest.approx(1.0)
    assert float(weights[:3].sum()) == pytest.approx(0.25) and torch.allclose(weights[:3], weights[0])
    assert torch.allclose(lesion_weights([2, 2], 2, 0.5), torch.tensor([0.5, 0.5], dtype=torch.double))
    assert torch.allclose(lesion_weights([0, 1], 2, 0.1), torch.tensor([0.5, 0.5], dtype=torch.double))
    with pytest.raises(ValueError, match="lesion_share"):
        lesion_weights([0], 2, 1.5)


def tissue_items(women=8, per_woman=6, seed=0, size=SIZE):
    """Items like ``tissue_datalist``'s: 2 lesion classes (labels 0, 1) and normal tissue (label 2), by woman."""
    images = texture(women * per_woman, seed, size=size)
    return [
        {"image": images[i], "label": [0, 1, 2, 2, 2, 2][i % per_woman], "group": f"woman{i // per_woman}"}
        for i in range(len(images))
    ]


def small_generator(seed=0):
    torch.manual_seed(seed)
    return ROIGenerator(num_classes=2, width=1 / 32, output_size=SIZE).eval()


def test_generator_realism_scores_are_seeded_and_hold_back_whole_women():
    items = tissue_items()
    realism = GeneratorRealism(small_generator(), items, 2, num_per_class=8, steps=10, latent_dim=100)
    first, again = realism.score(), realism.score()
    assert first == again and set(first) == {"realism", "realism_auc"}
    assert 0 <= first["realism"] and 0 <= first["realism_auc"] <= 1
    assert len(realism.real_fit) + len(realism.real_scored) == len(items)
    fitted = {i["group"] for i in items if any(torch.equal(i["image"], r) for r in realism.real_fit)}
    scored = {i["group"] for i in items if any(torch.equal(i["image"], r) for r in realism.real_scored)}
    assert fitted and scored and not fitted & scored  # whole women on each side
    assert float(realism.weights_fit.sum()) == pytest.approx(1.0)
    fake_fit = run_generator(realism.network, realism.z_fit, realism.labels)
    fake_scored = run_generator(realism.network, realism.z_scored, realism.labels)
    each = []
    for seed in (4321, 4322, 4323):  # the three critics, seeded from the handler's seed
        critic = fit_realism_critic(realism.real_fit, fake_fit, 10, seed, realism.weights_fit)
        each.append(min(realism_score(critic, realism.real_scored, fake_scored, realism.weights_scored), 1.0))
    assert first["realism"] == pytest.approx(float(np.median(each)))
    with pytest.raises(ValueError, match="at least two women"):
        GeneratorRealism(small_generator(), tissue_items(women=1), 2)
    for repeats in (0, 2):  # a median of an even count is a mean: one failed critic would move it
        with pytest.raises(ValueError, match=f"odd number of critics .* repeats={repeats}"):
            GeneratorRealism(small_generator(), items, 2, repeats=repeats)


def test_the_saver_keeps_the_best_by_realism_and_ignores_scores_of_other_metrics(tmp_path):
    """Two scoring handlers fire SCORED; a saver of 'realism' acts only on the events whose fresh metrics hold it."""
    trainer, _, ema = make_trainer(tmp_path, max_epochs=2, attach_saver=False)
    saver = GanCheckpointSaver(tmp_path / "ckpt", {"ema": ema}, save_interval=0, n_best=1, key_metric_name="realism")
    saver.attach(trainer)
    items = tissue_items(size=64)
    realism = GeneratorRealism(ema.module, items, 2, interval=4, num_per_class=8, steps=5, latent_dim=100)
    realism.attach(trainer)
    fired = []
    trainer.add_event_handler(ScoreEvents.SCORED, lambda e: fired.append(sorted(e.state.scored)))
    trainer.run()
    assert fired == [["realism", "realism_auc"]] * 2 and trainer.state.scored is None
    best = list((tmp_path / "ckpt").glob("best_checkpoint_*_realism=*.pt"))
    assert len(best) == 1 and trainer.state.best_checkpoint == str(best[0])

    engine = Engine(lambda e, b: None)
    ensure_score_events(engine)
    stale = GanCheckpointSaver(tmp_path / "stale", {"ema": ema}, save_interval=0, key_metric_name="realism")
    stale.attach(engine)
    engine.state.metrics = {"realism": 0.5, "quality": 0.1}
    fire_scored(engine, {"quality"})  # a quality score: the realism in metrics is stale
    assert not list((tmp_path / "stale").glob("best_*.pt"))
    fire_scored(engine, {"realism"})
    assert len(list((tmp_path / "stale").glob("best_checkpoint_*_realism=0.5000.pt"))) == 1
    engine.state.metrics["realism"] = 0.7
    engine.fire_event(ScoreEvents.SCORED)  # fired without naming its metrics (after a fire_scored): the saver acts
    assert len(list((tmp_path / "stale").glob("best_checkpoint_*_realism=0.7000.pt"))) == 1


def test_realism_filter_keeps_the_share_asked_for_and_is_cached(tmp_path, caplog):
    items = tissue_items()
    images = torch.stack([i["image"] for i in items])
    labels = torch.tensor([i["label"] for i in items])
    generator, cache = small_generator(), tmp_path / "realism_filter.pt"
    keep = RealismFilter.fit(images, labels, generator, 2, keep_fraction=0.5, cache=cache, steps=10, num_per_class=32)
    assert set(keep.thresholds) == {0, 1} and cache.is_file()
    z = torch.rand(64, 100) * 2 - 1
    for k in (0, 1):
        fresh = generator(z, torch.full((64,), k))
        assert 0.2 < float(keep(fresh, k).float().mean()) < 0.8  # the threshold was set on other latents
    caplog.set_level("INFO", logger="monai_roigan.sample_filter")
    cached = RealismFilter.fit(images, labels, generator, 2, keep_fraction=0.5, cache=cache, steps=10, num_per_class=32)
    assert "read from" in caplog.text and cached.thresholds == keep.thresholds
    other = small_generator(seed=1)  # other weights: a stale cache is refitted
    RealismFilter.fit(images, labels, other, 2, keep_fraction=0.5, cache=cache, steps=10, num_per_class=32)
    assert "refitting" in caplog.text
    everything = RealismFilter.fit(images, labels, generator, 2, keep_fraction=1.0, steps=10, num_per_class=8)
    assert bool(everything(generator(z, torch.zeros(64, dtype=torch.long)), 0).all())
    with pytest.raises(ValueError, match="keep_fraction"):
        RealismFilter.fit(images, labels, generator, 2, keep_fraction=0.0)
    with pytest.raises(ValueError, match=r"labels must be 0..2"):
        RealismFilter.fit(images, labels + 1, generator, 2)
    with pytest.raises(KeyError, match="no threshold for class 5"):
        keep(fresh, 5)
    assert np.isfinite(list(keep.thresholds.values())).all()


def test_select_by_realism_json_exports_the_most_realistic_checkpoint_and_filters_by_realism(tmp_path):
    from monai.bundle import ConfigParser

    from tests.test_bundle import CONFIGS, bundle, overlay

    settings = {"bundle_root": str(tmp_path), "max_epochs": 2, "num_phantom_images": 16, "width": 0.0625}
    settings |= {"d_width": 0.0625, "batch_size": 8, "quality_interval": 4, "critic_steps": 5, "critic_per_class": 8}
    args = [f"--{key}={value}" for key, value in settings.items()]
    bundle("run", "training", "--config_file", overlay("select_by_realism.json"), *args, log=tmp_path / "train.log")
    log = (tmp_path / "train.log").read_text()
    scores = {int(i): float(v) for i, v in re.findall(r"iteration (\d+): realism ([\d.]+)", log)}
    assert len(scores) >= 2 and "quality" in log  # the quality score still runs
    best = list((tmp_path / "runs" / "train" / "checkpoints").glob("best_checkpoint_*_realism=*.pt"))
    assert len(best) == 1 and float(best[0].stem.split("=")[1]) == pytest.approx(max(scores.values()), abs=1e-4)
    saved = torch.load(best[0], weights_only=True)["ema"]
    for key, value in torch.load(tmp_path / "models" / "model.pt", weights_only=True).items():
        torch.testing.assert_close(value, saved[f"module.{key}"])  # the export is the most realistic checkpoint

    parser = ConfigParser()
    parser.read_config([str(CONFIGS / "train.json"), str(CONFIGS / "select_by_realism.json")])
    for key, value in settings.items():
        parser[key] = value
    keep = parser.get_parsed_content("sample_filter")
    assert isinstance(keep, RealismFilter) and len(keep.thresholds) == 4
    assert (tmp_path / "models" / "realism_filter.pt").is_file()


def test_the_realism_judge_samples_only_what_a_filter_keeps():
    generator = small_generator()

    def brighter_half(images, class_index):
        return images.mean(dim=(1, 2, 3)) >= 0

    sample = network_sampler(generator, sample_filter=brighter_half)
    kept = sample(1, 12, seed=3)
    assert kept.shape == (12, 1, SIZE, SIZE) and (kept.mean(axis=(1, 2, 3)) >= 0).all()
    np.testing.assert_array_equal(kept, sample(1, 12, seed=3))  # the same seed, the same accepted ROIs
    candidates = network_sampler(generator)(1, 64, seed=3)  # the first batch of candidates, unfiltered
    bright = candidates[candidates.mean(axis=(1, 2, 3)) >= 0]
    assert 12 <= len(bright) < 64
    np.testing.assert_array_equal(kept, bright[:12])  # the first accepted candidates, in order
    with pytest.raises(ValueError, match="accepted 0 of .* class 0; 4 are needed"):
        network_sampler(generator, sample_filter=lambda images, k: torch.zeros(len(images), dtype=torch.bool))(0, 4, 0)


def test_judge_realism_judges_only_what_the_sample_filter_keeps(tmp_path):
    from monai_roigan.evaluation import EvaluationROIs, judge_realism
    from tests.test_realism import CLASSES, _rois

    rois = EvaluationROIs(_rois(24, 0, "train"), _rois(20, 1, "test"), source="toy textures")
    torch.manual_seed(0)
    generator = ROIGenerator(num_classes=2, width=1 / 32, output_size=32).eval()
    seen = []

    def brighter_half(images, class_index):
        seen.append(len(images))
        return images.mean(dim=(1, 2, 3)) >= float(images.mean())

    report = judge_realism(generator, rois, tmp_path, CLASSES, repeats=1, steps=3, sample_filter=brighter_half)
    assert "filtered by function" in report.read_text() and seen  # the filter judged the candidates
