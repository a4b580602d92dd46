"""GAN training: a conditional toy task, determinism, checkpoints, resume after a crash, the NaN guard."""

from dataclasses import FrozenInstanceError

import pytest
import torch
from ignite.engine import Events
from monai.data import DataLoader
from monai.utils import set_determinism

from monai_roigan.engines import DiffAugment, GanLosses, GeneratorInput, Precision, ROIGanTrainer, make_ema
from monai_roigan.handlers import (
    ExportGenerator,
    FixedNoiseSamples,
    GanCheckpointLoader,
    GanCheckpointSaver,
    NonFiniteGuard,
    NonFiniteLossError,
    TrainingCurves,
    latest_checkpoint,
)
from monai_roigan.losses import AdversarialLoss
from monai_roigan.networks import PRESETS, ROIDiscriminator, ROIGenerator


def toy_data(n=64):
    """Two classes a generator can tell apart: dark ROIs (label 0) and bright ROIs (label 1)."""
    g = torch.Generator().manual_seed(0)
    items = []
    for k in range(n):
        label = k % 2
        base = -0.7 if label == 0 else 0.6
        items.append({"image": (base + 0.1 * torch.randn(1, 64, 64, generator=g)).clamp(-1, 1), "label": label})
    return items


def make_trainer(
    tmp_path,
    max_epochs=2,
    seed=0,
    resume=False,
    handlers=(),
    lr=2e-4,
    n=64,
    guard_last=False,
    attach_saver=True,
    **losses,
):
    """A tiny 2-class trainer with the NaN guard, a checkpoint saver (every 4 iterations, 2 kept;
    ``trainer.checkpointer``,
    not attached with ``attach_saver=False``) and, with ``resume``, a checkpoint loader; ``guard_last`` attaches the
    guard after the saver (the order must not matter). ``losses``: further :class:`GanLosses` fields (``aux_weight``,
    ``mode_seeking_weight``)."""
    set_determinism(seed=seed)
    aux = losses.get("aux_weight", 0) > 0
    g = ROIGenerator(num_classes=2, width=PRESETS["tiny"])
    d = ROIDiscriminator(num_classes=2, width=PRESETS["tiny"], aux_classifier=aux)
    g_opt, d_opt = (
        torch.optim.Adam(g.parameters(), lr, betas=(0.5, 0.999)),
        torch.optim.Adam(d.parameters(), lr, betas=(0.5, 0.999)),
    )
    ema = make_ema(g, 0.9)
    data = DataLoader(toy_data(n), batch_size=16, shuffle=True, drop_last=True, num_workers=0)
    save_dict = {"generator": g, "discriminator": d, "g_opt": g_opt, "d_opt": d_opt, "ema": ema}
    checkpointer = GanCheckpointSaver(tmp_path / "ckpt", save_dict, save_interval=4, n_saved=2)
    guard = NonFiniteGuard(checkpoint_dir=str(tmp_path / "ckpt"))
    ordered = [checkpointer] if attach_saver else []
    ordered = [*ordered, guard] if guard_last else [guard, *ordered]
    loader = [GanCheckpointLoader(tmp_path / "ckpt", save_dict)] if resume else []
    trainer = ROIGanTrainer(
        "cpu",
        max_epochs,
        data,
        g,
        g_opt,
        d,
        d_opt,
        ema=ema,
        losses=GanLosses(AdversarialLoss(), DiffAugment(("translation",)), r1_gamma=0.1, r1_interval=2, **losses),
        seed=seed,
        train_handlers=[*ordered, *loader, *handlers],
    )
    trainer.checkpointer = checkpointer
    return trainer, g, ema


def test_output_scalars_and_artifacts(tmp_path):
    handlers = [TrainingCurves(tmp_path / "out"), ExportGenerator(None, tmp_path / "model.pt")]
    trainer, g, ema = make_trainer(tmp_path, handlers=handlers)
    handlers[1].network = ema
    handlers.append(FixedNoiseSamples(ema, ["dark", "bright"], tmp_path / "samples", per_class=4))
    handlers[-1].attach(trainer)
    trainer.run()
    out = trainer.state.output
    assert {"g_loss", "d_loss", "d_real_acc", "d_fake_acc", "r1", "aux_loss"} <= set(out) and 0 <= out[
        "d_real_acc"
    ] <= 1
    assert trainer.state.iteration == 8
    assert (tmp_path / "out" / "curves.png").is_file() and len(
        (tmp_path / "out" / "curves.csv").read_text().splitlines()
    ) == 9
    assert (tmp_path / "samples" / "final.png").is_file() and (tmp_path / "samples" / "epoch_0001.png").is_file()
    exported = torch.load(tmp_path / "model.pt", weights_only=True)
    assert exported.keys() == g.state_dict().keys()
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == ["checkpoint_4.pt", "checkpoint_8.pt"]


def test_conditional_generator_learns_class_appropriate_output(tmp_path):
    trainer, g, ema = make_trainer(tmp_path, max_epochs=30, lr=1e-3)
    trainer.run()
    z = torch.rand(16, 100) * 2 - 1
    g.eval()
    with torch.no_grad():
        dark, bright = g(z, torch.zeros(16, dtype=torch.long)), g(z, torch.ones(16, dtype=torch.long))
    assert float(bright.mean()) > float(dark.mean()) + 0.3  # same noise, other label, the class's brightness


def test_auxiliary_and_mode_seeking_losses(tmp_path):
    # 12 epochs: after 8 the class gap was 0.24 on this CPU (0.3 needed), after 12 it is 0.92
    trainer, g, _ = make_trainer(tmp_path, max_epochs=12, lr=1e-3, aux_weight=1.0, mode_seeking_weight=0.1)
    losses = []
    trainer.add_event_handler(Events.ITERATION_COMPLETED, lambda e: losses.append(e.state.output["aux_loss"]))
    trainer.run()
    # the discriminator's class head learns the two classes: cross-entropy falls well below chance (ln 2)
    assert losses[0] > 0.5 and sum(losses[-4:]) / 4 < 0.3
    z = torch.rand(16, 100) * 2 - 1
    g.eval()
    with torch.no_grad():
        dark, bright = g(z, torch.zeros(16, dtype=torch.long)), g(z, torch.ones(16, dtype=torch.long))
    assert float(bright.mean()) > float(dark.mean()) + 0.3
    with pytest.raises(ValueError, match="needs conditional=True"):
        ROIGanTrainer(
            "cpu",
            1,
            DataLoader(toy_data(4), batch_size=2),
            g,
            trainer.g_optimizer,
            trainer.d_network,
            trainer.d_optimizer,
            losses=GanLosses(aux_weight=1.0),
            generator_input=GeneratorInput(conditional=False),
        )


def test_mode_seeking_term_penalises_collapse(tmp_path):
    trainer, g, _ = make_trainer(tmp_path, mode_seeking_weight=2.0)
    trainer.state.device = torch.device("cpu")
    labels = torch.zeros(8, dtype=torch.long)
    z = trainer._latent(labels)  # from the trainer's stream, as in training: the term's second latent differs

    class Collapsed(torch.nn.Module):  # ignores z: every latent gives the same image
        def forward(self, z, labels):
            return g(torch.zeros_like(z), labels)

    with torch.no_grad():
        diverse = trainer._mode_seeking(g(z, labels), z, labels)
        trainer.g_network = Collapsed()
        collapsed = trainer._mode_seeking(trainer.g_network(z, labels), z, labels)
    assert float(collapsed) > 100 * float(diverse) > 0
    trainer.mode_seeking_weight = 0.0
    assert float(trainer._mode_seeking(g(z, labels), z, labels)) == 0.0
    a, b = ROIGanTrainer._same_label_pairs(torch.tensor([0, 1, 0, 1, 2, 2, 3]), 7)
    assert sorted(zip(a.tolist(), b.tolist())) == [(0, 2), (1, 3), (4, 5)]  # only pairs that share a label


def test_settings_validate_themselves_and_the_trainer_reads_them(tmp_path):
    with pytest.raises(ValueError, match="latent_distribution must be one of"):
        GeneratorInput(latent_distribution="laplace")
    with pytest.raises(ValueError, match="amp_dtype must be 'bfloat16' or 'float16'"):
        Precision(amp_dtype="float32")
    with pytest.raises(FrozenInstanceError):
        GanLosses().aux_weight = 1.0
    trainer, _, _ = make_trainer(tmp_path, aux_weight=0.5)
    assert (trainer.r1_gamma, trainer.r1_interval, trainer.aux_weight, trainer.mode_seeking_weight) == (0.1, 2, 0.5, 0)
    assert (trainer.latent_dim, trainer.latent_distribution, trainer.conditional) == (100, "uniform", True)
    assert (trainer.amp_enabled, trainer.amp_dtype, trainer.memory_format) == (
        False,
        torch.bfloat16,
        torch.contiguous_format,
    )
    assert trainer.adversarial_loss.rng is trainer.rng and trainer.diffaugment.rng is trainer.rng


def test_same_seed_same_weights(tmp_path):
    weights = []
    for run in range(2):
        trainer, g, _ = make_trainer(tmp_path / str(run), seed=7)
        trainer.run()
        weights.append(torch.cat([p.detach().flatten() for p in g.parameters()]))
    assert torch.equal(weights[0], weights[1])
    trainer, g, _ = make_trainer(tmp_path / "other", seed=8)
    trainer.run()
    assert not torch.equal(weights[0], torch.cat([p.detach().flatten() for p in g.parameters()]))


def test_resume_after_crash_continues_without_repeating(tmp_path):
    reference, g_ref, _ = make_trainer(tmp_path / "ref", max_epochs=3)
    reference.run()

    crashed, _, _ = make_trainer(tmp_path / "run", max_epochs=3)

    @crashed.on(Events.ITERATION_COMPLETED(once=6))
    def crash(engine):
        raise KeyboardInterrupt("simulated kill")

    with pytest.raises(KeyboardInterrupt):
        crashed.run()
    assert latest_checkpoint(tmp_path / "run" / "ckpt").name == "checkpoint_4.pt"

    resumed, g, _ = make_trainer(tmp_path / "run", max_epochs=3, seed=123, resume=True)  # the checkpoint's RNG wins
    seen = []
    resumed.add_event_handler(Events.ITERATION_STARTED, lambda e: seen.append(e.state.iteration))
    resumed.run()
    assert seen == [5, 6, 7, 8, 9, 10, 11, 12] and resumed.state.iteration == 12
    for p_ref, p in zip(g_ref.parameters(), g.parameters()):
        torch.testing.assert_close(p_ref, p)  # the same networks as the run that was never interrupted


def test_checkpoint_round_trip(tmp_path):
    trainer, g, ema = make_trainer(tmp_path, max_epochs=1)
    trainer.run()
    fresh, g2, ema2 = make_trainer(tmp_path, max_epochs=1, seed=99, resume=True)
    fresh.fire_event(Events.STARTED)
    assert fresh.state.iteration == 4
    for a, b in zip(g.state_dict().values(), g2.state_dict().values()):
        assert torch.equal(a, b)
    for a, b in zip(ema.state_dict().values(), ema2.state_dict().values()):
        assert torch.equal(a, b)
    assert torch.equal(fresh.rng.get_state(), trainer.rng.get_state())
    assert fresh.d_optimizer.state_dict()["state"][0]["step"] == 4


@pytest.mark.parametrize("guard_last", [False, True], ids=["guard-first", "guard-last"])
def test_nan_guard_stops_and_keeps_last_good_checkpoint(tmp_path, guard_last):
    """The loss turns NaN at iteration 8, a checkpoint iteration: the guard stops the run before the saver writes
    ``checkpoint_8.pt``, whichever of the two was attached first."""
    trainer, _, _ = make_trainer(tmp_path, max_epochs=3, guard_last=guard_last)

    @trainer.on(Events.ITERATION_STARTED(once=8))
    def poison(engine):
        engine.adversarial_loss.generator_loss = lambda logits: logits.mean() * float("nan")

    with pytest.raises(NonFiniteLossError, match=r"iteration 8.*checkpoint_4\.pt"):
        trainer.run()
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir() if p.suffix == ".pt") == ["checkpoint_4.pt"]


def test_amp_bfloat16_on_cpu_runs(tmp_path):
    trainer, _, _ = make_trainer(tmp_path, max_epochs=1)
    trainer.amp_enabled = True
    trainer.run()
    assert torch.isfinite(torch.tensor(trainer.state.output["g_loss"]))
