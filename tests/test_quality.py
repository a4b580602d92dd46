"""Quality scoring during training: the ROI classifier, MS-SSIM diversity, best checkpoints and their export."""

from pathlib import Path

import pytest
import torch
from ignite.engine import Events

from monai_roigan.handlers import ExportGenerator, GeneratorQuality, latest_checkpoint
from monai_roigan.metrics import class_fidelity, mean_pairwise_msssim, train_roi_classifier
from tests.test_trainer import make_trainer, toy_data


def toy_tensors(n=64):
    items = toy_data(n)
    return torch.stack([i["image"] for i in items]), torch.tensor([i["label"] for i in items])


def test_classifier_learns_classes_and_leaves_global_rng_alone():
    x, y = toy_tensors()
    state = torch.get_rng_state()
    net = train_roi_classifier(x, y, epochs=12, seed=0)
    assert torch.equal(state, torch.get_rng_state())
    assert class_fidelity(net, x[y == 0], 0) == 1.0 and class_fidelity(net, x[y == 1], 0) == 0.0
    again = train_roi_classifier(x, y, epochs=12, seed=0)
    torch.testing.assert_close(net(x[:4]), again(x[:4]))  # same seed, same classifier
    with pytest.raises(ValueError, match="as many labels"):
        train_roi_classifier(x, y[:3])


def test_msssim_diversity_orders_sets():
    x, _ = toy_tensors()
    same = x[:1].repeat(10, 1, 1, 1)
    assert mean_pairwise_msssim(same) == pytest.approx(1.0, abs=1e-4)
    structured = torch.linspace(-1, 1, 64).view(1, 1, 1, 64).repeat(10, 1, 64, 1) + 0.05 * torch.randn(10, 1, 64, 64)
    assert mean_pairwise_msssim(structured) > mean_pairwise_msssim(x[:10]) + 0.1
    with pytest.raises(ValueError, match="at least two"):
        mean_pairwise_msssim(x[:1])


@pytest.mark.parametrize("relative", [False, True], ids=["absolute", "relative"])
def test_quality_scores_keep_best_checkpoint_and_export_it(tmp_path, monkeypatch, relative):
    if relative:  # the bundle's default paths are relative to the working folder
        monkeypatch.chdir(tmp_path)
        tmp_path = Path(".")
    trainer, g, ema = make_trainer(tmp_path, max_epochs=3)
    quality = GeneratorQuality(ema, toy_data(), 2, interval=4, num_per_class=8, classifier_epochs=2,
                               checkpointer=trainer.checkpointer)  # fmt: skip
    quality.attach(trainer)
    scores = {}
    trainer.add_event_handler(Events.ITERATION_COMPLETED, lambda e: scores.update(
        {e.state.metrics["quality_iteration"]: e.state.metrics["quality"]} if "quality" in e.state.metrics else {}))  # fmt: skip
    export = ExportGenerator(ema, tmp_path / "model.pt", best_from=trainer.checkpointer)
    export.attach(trainer)
    trainer.run()
    assert sorted(scores) == [4, 8, 12] and all(-1 <= v <= 1 for v in scores.values())
    best = list((tmp_path / "ckpt").glob("best_checkpoint_*_quality=*.pt"))
    best_iteration = max(scores, key=scores.get)
    assert len(best) == 1 and best[0].name.startswith(f"best_checkpoint_{best_iteration}_")
    assert latest_checkpoint(tmp_path / "ckpt").name == "checkpoint_12.pt"  # best files are never "latest"
    saved = torch.load(best[0], weights_only=True)["ema"]
    exported = torch.load(tmp_path / "model.pt", weights_only=True)
    for key, value in exported.items():
        torch.testing.assert_close(value, saved[f"module.{key}"])


def test_best_tracking_survives_resume(tmp_path):
    first, _, ema = make_trainer(tmp_path, max_epochs=2)
    GeneratorQuality(ema, toy_data(), 2, interval=4, num_per_class=8, classifier_epochs=1,
                     checkpointer=first.checkpointer).attach(first)  # fmt: skip
    first.run()
    before = first.checkpointer.best.state_dict()["_saved"]
    resumed, _, ema = make_trainer(tmp_path, max_epochs=4, resume=True)
    handler = GeneratorQuality(ema, toy_data(), 2, interval=4, num_per_class=8, classifier_epochs=1,
                               checkpointer=resumed.checkpointer)  # fmt: skip
    handler.attach(resumed)
    loaded = []
    resumed.add_event_handler(Events.STARTED, lambda e: loaded.extend(resumed.checkpointer.best.state_dict()["_saved"]))
    resumed.run()
    assert [name for _, name in loaded] == [name for _, name in before]  # the earlier best is known again
    assert loaded[0][0] == pytest.approx(before[0][0], abs=1e-4)
    assert len(list((tmp_path / "ckpt").glob("best_checkpoint_*.pt"))) == 1  # n_best=1 across both runs
