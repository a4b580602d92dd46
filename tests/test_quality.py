"""Quality scoring during training: the ROI classifier, MS-SSIM diversity, best checkpoints and their export."""

from pathlib import Path

import numpy as np
import pytest
import torch
from ignite.engine import Events
from monai.data import Dataset
from monai.transforms import RandGaussianNoised

from monai_roigan.engines import ScoreEvents, roi_items, train_roi_classifier
from monai_roigan.handlers import ExportGenerator, GeneratorQuality, latest_checkpoint
from monai_roigan.metrics import class_fidelity, mean_pairwise_msssim
from tests.test_trainer import make_trainer, toy_data


def toy_tensors(n=64):
    items = toy_data(n)
    return torch.stack([i["image"] for i in items]), torch.tensor([i["label"] for i in items])


def test_classifier_learns_classes_and_leaves_global_rng_alone():
    x, y = toy_tensors()
    state, np_state = torch.get_rng_state(), np.random.get_state()
    net = train_roi_classifier(roi_items(x, y), 2, epochs=12, seed=0)
    assert torch.equal(state, torch.get_rng_state()) and np.array_equal(np_state[1], np.random.get_state()[1])
    assert class_fidelity(net, x[y == 0], 0) == 1.0 and class_fidelity(net, x[y == 1], 0) == 0.0
    torch.manual_seed(12345)  # another global state must not change the result
    again = train_roi_classifier(roi_items(x, y), 2, epochs=12, seed=0)
    torch.testing.assert_close(net(x[:4]), again(x[:4]))  # same seed, same classifier
    other = train_roi_classifier(roi_items(x, y), 2, epochs=12, seed=1)
    assert not torch.equal(net[0][0].weight, other[0][0].weight)
    with pytest.raises(ValueError, match="as many labels"):
        roi_items(x, y[:3])
    with pytest.raises(ValueError, match="exactly one of epochs and steps"):
        train_roi_classifier(roi_items(x, y), 2)


def test_classifier_on_a_dataset_with_random_transforms_is_seeded_and_keeps_global_rngs():
    """The downstream experiment's case: steps of full batches over a dataset whose transforms draw at random."""
    x, y = toy_tensors(40)

    def fit(seed):
        data = Dataset(roi_items(x, y), RandGaussianNoised("image", prob=1.0, std=0.3))
        return train_roi_classifier(data, 2, steps=7, batch_size=16, seed=seed, drop_last=True, channels_last=True)

    state, np_state = torch.get_rng_state(), np.random.get_state()
    first = fit(0)
    assert torch.equal(state, torch.get_rng_state()) and np.array_equal(np_state[1], np.random.get_state()[1])
    np.random.seed(99)
    torch.testing.assert_close(first(x[:4]), fit(0)(x[:4]))
    assert not torch.allclose(first(x[:4]), fit(3)(x[:4]))


def test_msssim_diversity_orders_sets():
    x, _ = toy_tensors()
    same = x[:1].repeat(10, 1, 1, 1)
    assert mean_pairwise_msssim(same) == pytest.approx(1.0, abs=1e-4)
    structured = torch.linspace(-1, 1, 64).view(1, 1, 1, 64).repeat(10, 1, 64, 1) + 0.05 * torch.randn(10, 1, 64, 64)
    assert mean_pairwise_msssim(structured) > mean_pairwise_msssim(x[:10]) + 0.1
    with pytest.raises(ValueError, match="at least two"):
        mean_pairwise_msssim(x[:1])


@pytest.mark.parametrize("relative", [False, True], ids=["absolute", "relative"])
@pytest.mark.parametrize("order", ["saver-first", "export-first"])
def test_quality_scores_keep_best_checkpoint_and_export_it(tmp_path, monkeypatch, relative, order):
    """The score goes to engine.state.metrics; the saver keeps the best by name and the export reads its path from
    engine.state: the same files whatever order the three handlers were attached in."""
    if relative:  # the bundle's default paths are relative to the working folder
        monkeypatch.chdir(tmp_path)
        tmp_path = Path(".")
    trainer, g, ema = make_trainer(tmp_path, max_epochs=3, attach_saver=order == "saver-first")
    quality = GeneratorQuality(ema, toy_data(), 2, interval=4, num_per_class=8, classifier_epochs=2)
    export = ExportGenerator(ema, tmp_path / "model.pt")
    handlers = [quality, export] if order == "saver-first" else [export, quality, trainer.checkpointer]
    for handler in handlers:
        handler.attach(trainer)
    scores = {}
    trainer.add_event_handler(
        ScoreEvents.SCORED, lambda e: scores.update({e.state.iteration: e.state.metrics["quality"]})
    )
    trainer.run()
    assert sorted(scores) == [4, 8, 12] and all(-1 <= v <= 1 for v in scores.values())
    best = list((tmp_path / "ckpt").glob("best_checkpoint_*_quality=*.pt"))
    best_iteration = max(scores, key=scores.get)
    assert len(best) == 1 and best[0].name.startswith(f"best_checkpoint_{best_iteration}_")
    assert Path(trainer.state.best_checkpoint).name == best[0].name
    assert latest_checkpoint(tmp_path / "ckpt").name == "checkpoint_12.pt"  # best files are never "latest"
    saved = torch.load(best[0], weights_only=True)["ema"]
    exported = torch.load(tmp_path / "model.pt", weights_only=True)
    for key, value in exported.items():
        torch.testing.assert_close(value, saved[f"module.{key}"])
    if best_iteration != 12:  # the final weights differ from the best ones: the export took the best
        final = ema.module.state_dict()
        assert any(not torch.equal(final[k], exported[k]) for k in exported)


def test_best_tracking_survives_resume(tmp_path):
    first, _, ema = make_trainer(tmp_path, max_epochs=2)
    GeneratorQuality(ema, toy_data(), 2, interval=4, num_per_class=8, classifier_epochs=1).attach(first)
    first.run()
    before = first.checkpointer.best.state_dict()["_saved"]
    resumed, _, ema = make_trainer(tmp_path, max_epochs=4, resume=True)
    GeneratorQuality(ema, toy_data(), 2, interval=4, num_per_class=8, classifier_epochs=1).attach(resumed)
    loaded, published = [], []
    resumed.add_event_handler(
        Events.ITERATION_STARTED, lambda e: loaded or loaded.extend(resumed.checkpointer.best.state_dict()["_saved"])
    )
    resumed.add_event_handler(Events.ITERATION_STARTED, lambda e: published.append(e.state.best_checkpoint))
    resumed.run()
    assert resumed.state.resumed_from.endswith("checkpoint_8.pt")
    assert [name for _, name in loaded] == [name for _, name in before]  # the earlier best is known again
    assert loaded[0][0] == pytest.approx(before[0][0], abs=1e-4)
    assert published[0].endswith(before[-1][1])  # and published for the export before any new score
    assert len(list((tmp_path / "ckpt").glob("best_checkpoint_*.pt"))) == 1  # n_best=1 across both runs
