"""The generator's spectral penalty: power above the real batch's is penalised, power below it is not."""

import pytest
import torch
from ignite.engine import Events

from monai_roigan.losses import SpectralExcessLoss
from monai_roigan.utils.spectrum import folded_power_spectrum
from tests.test_trainer import make_trainer


def _tissue(n: int, seed: int) -> torch.Tensor:
    """(n, 1, 64, 64) smooth random texture in [-1, 1]."""
    g = torch.Generator().manual_seed(seed)
    noise = torch.randn(n, 1, 64, 64, generator=g)
    return torch.nn.functional.avg_pool2d(noise, 7, 1, 3, count_include_pad=False).mul(2).tanh()


CHECKER = (torch.arange(64)[:, None] + torch.arange(64)[None]) % 2 * 0.2 - 0.1


def test_folded_spectrum_puts_a_wave_at_its_frequency():
    """cos(2 pi (3 y + 5 x) / 64) + 0.7: the mean is removed; each of its two FFT peaks holds (64^2 / 2)^2 / 64^2
    = 1024, and folding averages them with the two empty sign combinations: 512 at (3, 5), nothing elsewhere."""
    yy, xx = torch.meshgrid(torch.arange(64.0), torch.arange(64.0), indexing="ij")
    wave = (torch.cos(2 * torch.pi * (3 * yy + 5 * xx) / 64) + 0.7)[None, None].double()
    power = folded_power_spectrum(wave.repeat(2, 1, 1, 1))
    assert power.shape == (33, 33) and power.dtype == torch.float64
    assert float(power[3, 5]) == pytest.approx(512) and float(power.sum()) == pytest.approx(512)


def test_a_checkerboard_is_penalised_and_missing_detail_is_not():
    loss, real = SpectralExcessLoss(), _tissue(32, 1)
    assert float(loss(real, real)) == 0.0
    assert float(loss(_tissue(32, 2), real)) < 0.5  # another draw of the same texture: sampling noise only
    assert float(loss(real + CHECKER, real)) > 5  # one frequency with about 1e4 times the real power
    blurred = torch.nn.functional.avg_pool2d(real, 3, 1, 1, count_include_pad=False)
    assert float(loss(blurred, real)) == 0.0  # less high-frequency power than real: not penalised
    fake = (real + CHECKER).requires_grad_()
    target = real.clone().requires_grad_()
    loss(fake, target).backward()
    assert fake.grad.abs().sum() > 0 and target.grad is None


def test_bad_settings_and_shapes_are_refused():
    with pytest.raises(ValueError, match="margin must be at least 1"):
        SpectralExcessLoss(margin=0.5)
    with pytest.raises(ValueError, match=r"square batches of one size, got \(2, 1, 64, 64\) and \(2, 1, 32, 32\)"):
        SpectralExcessLoss()(torch.zeros(2, 1, 64, 64), torch.zeros(2, 1, 32, 32))


def test_the_trainer_adds_the_penalty_to_the_generator_loss(tmp_path):
    trainer, _, _ = make_trainer(tmp_path, max_epochs=1, spectral_weight=1.0)
    seen = []
    trainer.add_event_handler(Events.ITERATION_COMPLETED, lambda e: seen.append(e.state.output.get("spectral")))
    trainer.run()
    assert trainer.spectral_weight == 1.0 and all(v is not None and v >= 0 for v in seen) and max(seen) > 0
    plain, _, _ = make_trainer(tmp_path / "plain", max_epochs=1)
    plain.add_event_handler(Events.ITERATION_COMPLETED, lambda e: seen.append("spectral" in e.state.output))
    plain.run()
    assert seen[-1] is False


def test_minimising_the_penalty_removes_a_generators_checkerboard():
    """A transposed-convolution generator trained on the penalty alone loses its excess power at the 2x and 4x
    up-sampling grid. The learning rate decays to 1/100 so the end state does not depend on where a constant-rate
    Adam happens to be in its oscillation (at a constant rate the Nyquist ratio swings between about 1x and 400x)."""
    from monai_roigan.networks import ROIGenerator

    torch.manual_seed(0)
    network, real, loss = ROIGenerator(16, 0, 1 / 16, 64).train(), _tissue(32, 3), SpectralExcessLoss()
    z = torch.rand(32, 16) * 2 - 1
    optimizer = torch.optim.Adam(network.parameters(), 1e-3)
    schedule = torch.optim.lr_scheduler.LinearLR(optimizer, 1.0, 0.01, total_iters=100)
    grid = (32, 32), (16, 16), (0, 32), (16, 32)

    def grid_ratios() -> list[float]:
        with torch.no_grad():
            ratio = folded_power_spectrum(network(z)) / folded_power_spectrum(real)
        return [float(ratio[f]) for f in grid]

    before, first = grid_ratios(), float(loss(network(z), real).detach())
    for _ in range(100):
        optimizer.zero_grad()
        penalty = loss(network(z), real)
        penalty.backward()
        optimizer.step()
        schedule.step()
    after = grid_ratios()
    # untrained: about 960 of excess summed and about 230x the real power at Nyquist. Trained: over seeds 0-10 with
    # one or two threads, at most 2.4x the real power on the grid; in 23 runs of other seeds with up to four threads,
    # penalties up to 3 and one run at 9.6x at Nyquist (seed 13, four threads). The bounds leave room for that.
    assert first > 100 and float(penalty.detach()) < first / 50, (first, float(penalty.detach()))
    assert before[0] > 100 and after[0] < before[0] / 20 and max(after) < 16, (before, after)
