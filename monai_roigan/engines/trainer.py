"""``ROIGanTrainer``: a class-conditional GAN trainer for ROI-mammoGAN on MONAI's :class:`~monai.engines.Trainer`.

MONAI's ``GanTrainer`` builds the generator input from ``g_prepare_batch`` alone, which never sees the batch,
so class labels cannot reach the generator, and it takes loss functions, inferers and batch preparers that a
class-conditional step does not use. This trainer therefore subclasses MONAI's base ``Trainer`` (the Ignite
engine, handlers, metrics and ``state`` that the MONAI workflow wires up) and defines one iteration as:

1. real ROIs ``x`` (B, 1, S, S) in [-1, 1] and labels ``y`` (B,) from the batch;
2. z ~ U(-1, 1)^latent_dim (Algorithm 2; ``latent_distribution="normal"`` for N(0, 1)), drawn from the
   trainer's own seeded random stream ``self.rng`` (a :class:`torch.Generator`); fakes ``G(z, y)`` of the *same* labels
   as the real batch;
3. discriminator step on ``DiffAugment(x)`` and ``DiffAugment(G(z, y))`` with the adversarial loss, plus
   the R1 penalty every ``r1_interval`` steps, plus (``aux_weight > 0``) the cross-entropy of the
   discriminator's auxiliary class head on the real ROIs (AC-GAN);
4. generator step on the same fakes (non-saturating loss for BCE), plus the auxiliary cross-entropy of the
   fakes against the labels they were generated for, plus (``mode_seeking_weight > 0``) the mode-seeking
   term of Mao et al. 2019, ``w / (mean|G(z1, y) - G(z2, y)| / mean|z1 - z2|)`` over pairs of fakes in the
   batch that share a label (no extra generator pass), which penalises latents that map to the same image
   (mode collapse within a class);
5. EMA update of the generator (the exported weights).

Under ``torchrun`` (a process group with more than one rank) each rank trains on its shard of the data, draws
its own latents and augmentations, and averages its gradients with the other ranks after every backward
pass (:mod:`monai_roigan.engines.distributed`), so all ranks keep identical networks.

The iteration output (``engine.state.output``, set before MONAI's ``IterationEvents.MODEL_COMPLETED`` fires at the
end of the iteration) is a dict with the scalars ``g_loss``, ``d_loss``,
``d_real_acc`` (share of real ROIs the discriminator calls real), ``d_fake_acc`` (share of fakes it calls
fake), ``r1``, ``aux_loss`` (the discriminator's auxiliary cross-entropy on real ROIs, 0 when off) and the
tensors ``reals`` and ``fakes``. AMP (``Precision(amp=True)``) runs the forward passes under
``torch.autocast`` in ``amp_dtype`` (bfloat16 or float16, the latter with a gradient scaler).
"""

from __future__ import annotations

from collections.abc import Sequence

import ignite.distributed as idist
import torch
import torch.nn.functional as F
from ignite.engine import Events
from monai.engines import IterationEvents, Trainer
from monai.utils import GanKeys
from torch.optim.swa_utils import AveragedModel

from monai_roigan.engines.distributed import average_gradients, broadcast_modules, check_identical
from monai_roigan.engines.events import ScoreEvents
from monai_roigan.engines.regularizers import DiffAugment, r1_penalty, update_ema
from monai_roigan.engines.settings import GanLosses, GeneratorInput, Precision
from monai_roigan.losses.adversarial import AdversarialLoss
from monai_roigan.losses.spectral import SpectralExcessLoss
from monai_roigan.networks.sampling import sample_latent

__all__ = ["ROIGanTrainer", "SCALAR_KEYS"]

SCALAR_KEYS = ("g_loss", "d_loss", "d_real_acc", "d_fake_acc", "r1", "aux_loss")


class ROIGanTrainer(Trainer):
    """Adversarial training of a class-conditional ROI generator.

    Args:
        device: torch device.
        max_epochs: epochs to train.
        train_data_loader: yields dicts with ``image_key`` (B, 1, S, S) in [-1, 1] and ``label_key`` (B,).
        g_network, d_network: :class:`~monai_roigan.networks.nets.ROIGenerator` / ``ROIDiscriminator``
            (or any modules with ``forward(x, labels)``).
        g_optimizer, d_optimizer: their optimizers.
        ema: an :class:`~torch.optim.swa_utils.AveragedModel` of ``g_network``, updated each iteration.
        losses: the adversarial loss, DiffAugment, R1, auxiliary and mode-seeking settings (:class:`GanLosses`;
            None: its defaults, the paper's BCE and no extra terms).
        generator_input: latent size and distribution and whether labels reach the networks
            (:class:`GeneratorInput`; None: its defaults, the paper's 100-dimensional U(-1, 1), conditional).
        precision: mixed precision and memory layout (:class:`Precision`; None: float32, the default layout).
        image_key, label_key: batch keys.
        seed: seed of the trainer's random stream ``self.rng`` (latents, loss noise, DiffAugment).
        epoch_length, train_handlers, key_train_metric, additional_metrics: as for MONAI's ``Trainer``.
    """

    def __init__(
        self,
        device: str | torch.device,
        max_epochs: int,
        train_data_loader,
        g_network: torch.nn.Module,
        g_optimizer: torch.optim.Optimizer,
        d_network: torch.nn.Module,
        d_optimizer: torch.optim.Optimizer,
        ema: AveragedModel | None = None,
        losses: GanLosses | None = None,
        generator_input: GeneratorInput | None = None,
        precision: Precision | None = None,
        image_key: str = "image",
        label_key: str = "label",
        seed: int = 0,
        epoch_length: int | None = None,
        train_handlers: Sequence | None = None,
        key_train_metric: dict | None = None,
        additional_metrics: dict | None = None,
    ):
        losses = GanLosses() if losses is None else losses
        generator_input = GeneratorInput() if generator_input is None else generator_input
        precision = Precision() if precision is None else precision
        self.rng = torch.Generator().manual_seed(int(seed))
        self.world_size, self.rank = idist.get_world_size(), idist.get_rank()
        # one process draws from rng; each rank of a distributed run draws from its own stream, reseeded every
        # iteration from the shared rng (identical on all ranks, the one checkpointed) and the rank
        self.draw_rng = self.rng if self.world_size == 1 else torch.Generator()
        self.adversarial_loss = losses.adversarial_loss or AdversarialLoss()
        self.adversarial_loss.rng = self.draw_rng
        self.diffaugment = losses.diffaugment or DiffAugment(policy=())
        self.diffaugment.rng = self.draw_rng
        super().__init__(
            device=device,
            max_epochs=max_epochs,
            data_loader=train_data_loader,
            epoch_length=epoch_length,
            key_metric=key_train_metric,
            additional_metrics=additional_metrics,
            handlers=train_handlers,
            decollate=False,
            event_names=[ScoreEvents],
        )
        self.g_network = g_network
        self.g_optimizer = g_optimizer
        self.d_network = d_network
        self.d_optimizer = d_optimizer
        self.latent_dim = generator_input.latent_dim
        self.latent_distribution = generator_input.latent_distribution
        self.conditional = generator_input.conditional
        self.image_key = image_key
        self.label_key = label_key
        self.r1_gamma = losses.r1_gamma
        self.r1_interval = max(1, int(losses.r1_interval))
        self.ema = ema
        if losses.aux_weight > 0 and not generator_input.conditional:
            raise ValueError("aux_weight > 0 needs conditional=True (the auxiliary head predicts the class label)")
        self.aux_weight, self.mode_seeking_weight = float(losses.aux_weight), float(losses.mode_seeking_weight)
        self.spectral_weight, self.spectral_loss = float(losses.spectral_weight), SpectralExcessLoss()
        # not `self.amp`: MONAI's Trainer.run() would then build its own (unused) CUDA GradScaler
        self.amp_enabled, self.amp_dtype = precision.amp, getattr(torch, precision.amp_dtype)
        scale = precision.amp and precision.amp_dtype == "float16"  # bfloat16 needs no loss scaling
        self.scalers = {name: torch.amp.GradScaler(torch.device(device).type, enabled=scale) for name in ("d", "g")}
        channels_last = precision.channels_last
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        for network in (g_network, d_network, ema):
            if network is not None and channels_last:
                network.to(memory_format=torch.channels_last)
        if self.world_size > 1:
            broadcast_modules(*(m for m in (g_network, d_network, ema) if m is not None))
            self.add_event_handler(Events.COMPLETED, lambda _: check_identical(g_network, "the generator"))
            self.add_event_handler(Events.COMPLETED, lambda _: check_identical(d_network, "the discriminator"))

    def _autocast(self):
        return torch.autocast(torch.device(self.state.device).type, dtype=self.amp_dtype, enabled=self.amp_enabled)

    def _step(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler) -> None:
        scaler.scale(loss).backward()
        average_gradients(p for group in optimizer.param_groups for p in group["params"])  # no-op in one process
        scaler.step(optimizer)
        scaler.update()

    def _batch(self, batchdata: dict) -> tuple[torch.Tensor, torch.Tensor | None]:
        device = self.state.device
        real = torch.as_tensor(batchdata[self.image_key]).to(device, torch.float32, non_blocking=self.non_blocking)
        real = real.contiguous(memory_format=self.memory_format)
        labels = (
            torch.as_tensor(batchdata[self.label_key]).to(device, torch.long).view(-1) if self.conditional else None
        )
        return real, labels

    def _latent(self, like: torch.Tensor) -> torch.Tensor:
        return sample_latent(like.shape[0], self.latent_dim, self.latent_distribution, self.draw_rng).to(like.device)

    def _discriminate(self, images: torch.Tensor, labels: torch.Tensor | None):
        """Real/fake logits (B,) of the augmented images and the auxiliary class logits (or None), in float32."""
        with self._autocast():
            if not self.aux_weight:
                return self.d_network(self.diffaugment(images), labels).float(), None
            logits, classes = self.d_network(self.diffaugment(images), labels, return_class_logits=True)
        return logits.float(), classes.float()

    def _aux_loss(self, class_logits: torch.Tensor | None, labels: torch.Tensor | None) -> torch.Tensor:
        if class_logits is None:
            return torch.zeros((), device=self.state.device)
        return self.aux_weight * F.cross_entropy(class_logits, labels)

    @staticmethod
    def _same_label_pairs(labels: torch.Tensor | None, num: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Indices (a, b) of disjoint sample pairs that share a label (all samples share one without labels)."""
        if labels is None:
            half = num // 2
            return torch.arange(half), torch.arange(half, 2 * half)
        labels = labels.cpu()
        order = torch.argsort(labels, stable=True)
        first, second = order[0::2][: num // 2], order[1::2][: num // 2]
        same = labels[first] == labels[second]
        return first[same], second[same]

    def _mode_seeking(self, fake: torch.Tensor, z: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        if self.mode_seeking_weight <= 0:
            return torch.zeros((), device=fake.device)
        a, b = (i.to(fake.device) for i in self._same_label_pairs(labels, fake.shape[0]))
        if a.numel() == 0:
            return torch.zeros((), device=fake.device)
        ratio = (fake[a].float() - fake[b].float()).abs().mean() / (z[a] - z[b]).abs().mean()
        return self.mode_seeking_weight / (ratio + 1e-5)

    # hooks of one iteration (a subclass changes what the generator sees and adds terms to its loss) -----------
    def _fake_labels(self, labels: torch.Tensor | None) -> torch.Tensor | None:
        """The labels the fakes are generated for (and judged with): the real batch's labels."""
        return labels

    def _generate(self, z: torch.Tensor, fake_labels: torch.Tensor | None, real: torch.Tensor) -> torch.Tensor:
        """The fakes (B, 1, S, S) of one iteration (under autocast): ``G(z, fake_labels)``."""
        return self.g_network(z, fake_labels)

    def _generator_penalty(self, real: torch.Tensor, labels, fake_labels) -> dict[str, torch.Tensor]:
        """Extra generator loss terms of the last :meth:`_generate` call, by name (none here)."""
        return {}

    def _iteration(self, engine: ROIGanTrainer, batchdata: dict) -> dict:
        if batchdata is None:
            raise ValueError("must provide batch data for current iteration.")
        real, labels = engine._batch(batchdata)
        if engine.world_size > 1:
            engine.draw_rng.manual_seed(int(torch.randint(0, 2**62, (1,), generator=engine.rng)) + engine.rank)
        z = engine._latent(real)
        fake_labels = engine._fake_labels(labels)
        with engine._autocast():
            fake = engine._generate(z, fake_labels, real)
        # discriminator
        engine.d_optimizer.zero_grad(set_to_none=True)
        d_real, real_classes = engine._discriminate(real, labels)
        d_fake, _ = engine._discriminate(fake.detach(), fake_labels)
        d_loss = engine.adversarial_loss.discriminator(d_real, d_fake)
        aux_loss = engine._aux_loss(real_classes, labels)
        r1 = torch.zeros((), device=real.device)
        if engine.r1_gamma > 0 and engine.state.iteration % engine.r1_interval == 0:
            r1 = r1_penalty(engine.d_network, real, labels, engine.r1_gamma) * engine.r1_interval
        engine._step(d_loss + aux_loss + r1, engine.d_optimizer, engine.scalers["d"])
        # generator; the discriminator's weights get no gradients here (they would be discarded anyway)
        engine.g_optimizer.zero_grad(set_to_none=True)
        d_params = [p for p in engine.d_network.parameters() if p.requires_grad]
        for p in d_params:
            p.requires_grad_(False)
        try:
            g_logits, fake_classes = engine._discriminate(fake, fake_labels)
            g_loss = engine.adversarial_loss.generator_loss(g_logits)
            penalties = engine._generator_penalty(real, labels, fake_labels)
            if engine.spectral_weight > 0:
                penalties["spectral"] = engine.spectral_weight * engine.spectral_loss(fake, real)
            g_total = g_loss + engine._aux_loss(fake_classes, fake_labels) + engine._mode_seeking(fake, z, fake_labels)
            engine._step(g_total + sum(penalties.values()), engine.g_optimizer, engine.scalers["g"])
        finally:
            for p in d_params:
                p.requires_grad_(True)
        if engine.ema is not None:
            update_ema(engine.ema, engine.g_network)
        engine.state.output = {
            GanKeys.REALS: real,
            GanKeys.FAKES: fake.detach(),
            "labels": labels,
            "g_loss": g_loss.item(),
            "d_loss": d_loss.item(),
            "d_real_acc": (d_real > 0).float().mean().item(),
            "d_fake_acc": (d_fake < 0).float().mean().item(),
            "r1": float(r1.item()),
            "aux_loss": float(aux_loss.item()),
            **{name: float(value.item()) for name, value in penalties.items()},
        }
        engine.fire_event(IterationEvents.MODEL_COMPLETED)  # handlers see state.output before ITERATION_COMPLETED
        return engine.state.output
