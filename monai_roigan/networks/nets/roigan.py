"""ROI-mammoGAN generator and discriminator (paper Tables 2-3), class-conditional.

Consistent reading of the paper's tables (see ``docs/model.md`` for the contradictions and why):

Generator (``paper`` preset, 64x64): latent z (100) -> fully connected -> 4x4x1024, batch norm, ReLU ->
four 5x5 transposed convolutions with stride 2 and 512/256/128/64 filters (8, 16, 32, 64 px), each with
batch norm and ReLU -> a 5x5 convolution to one channel -> tanh. Output (B, 1, 64, 64) in [-1, 1].
For ``output_size=128`` one more up-sampling layer (32 filters) is added, which is where the paper's
"128x128x32" row comes from.

Up-sampling (``upsample``): ``"transposed"`` is the paper's layer. A stride-2 transposed convolution whose kernel
is not a multiple of its stride overlaps unevenly and prints a checkerboard at the up-sampling grid (Odena et al.
2016, "Deconvolution and checkerboard artifacts"); its zero padding and output padding darken the frame.
``"antialiased"`` keeps the transposed convolution and adds a fixed binomial blur (:class:`BinomialBlur`) after
each up-sampling block, whose zero response at the Nyquist frequency removes the checkerboard (as StyleGAN2's
up-sampling filters do). ``"resize"`` is a resize-convolution: nearest-neighbour up-sampling by 2, then a stride-1
convolution with reflect padding, so every output pixel sees the same number of inputs. Both pad the last
convolution by reflection, so the border sees tissue, not zeros. ``"transposed"`` stays the default until a layout
without a checkerboard passes the phantom quality gate within the training budget (``docs/model.md``). The
layouts have different state-dict keys; :func:`~monai_roigan.networks.load_generator` tells them apart, so old
files load as ``"transposed"``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["BinomialBlur", "ROIGenerator", "ROIDiscriminator", "init_dcgan_weights", "PRESETS", "UPSAMPLING_MODES"]

#: ``width`` per preset name; 1.0 reproduces the paper's filter counts
PRESETS = {"paper": 1.0, "small": 0.125, "tiny": 0.0625}

#: the generator's up-sampling layers: the paper's transposed convolutions, resize-convolutions, or transposed
#: convolutions followed by a fixed binomial blur (both without a checkerboard)
UPSAMPLING_MODES = ("transposed", "resize", "antialiased")


class BinomialBlur(nn.Module):
    """A fixed depthwise [1, 2, 1] x [1, 2, 1] / 16 blur with reflect padding: (B, C, H, W) -> (B, C, H, W).

    Its response at the Nyquist frequency is exactly 0, so it removes any pattern of period 2 pixels (the
    checkerboard of a stride-2 layer) whatever the learned weights before it. The kernel is a buffer, so a state
    dict holds it and :func:`~monai_roigan.networks.load_generator` can tell this layout from the others.
    """

    def __init__(self):
        super().__init__()
        taps = torch.tensor([1.0, 2.0, 1.0])
        self.register_buffer("kernel", (torch.outer(taps, taps) / 16)[None, None])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        padded = nn.functional.pad(x, (1, 1, 1, 1), mode="reflect")
        return nn.functional.conv2d(padded, self.kernel.expand(x.shape[1], 1, 3, 3), groups=x.shape[1])


def _channels(width: float, base: int = 1024) -> int:
    return max(8, int(round(base * width)))


def _num_upsamplings(output_size: int) -> int:
    steps = math.log2(output_size / 4)
    if output_size < 16 or steps != int(steps):
        raise ValueError(f"output_size must be a power of two >= 16 (e.g. 64 or 128), got {output_size}")
    return int(steps)


def init_dcgan_weights(module: nn.Module) -> None:
    """DCGAN initialisation: convolution and linear weights from N(0, 0.02), batch norm scales from N(1, 0.02)."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Embedding)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if getattr(module, "bias", None) is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class ROIGenerator(nn.Module):
    """Latent (B, latent_dim) and labels (B,) to ROIs (B, 1, output_size, output_size) in [-1, 1].

    Args:
        latent_dim: size of z (paper: 100).
        num_classes: number of classes; 0 for an unconditional generator (labels ignored).
        width: channel multiplier (``PRESETS``: paper 1.0, small 0.125).
        output_size: 64 (paper) or 128.
        embedding_dim: size of the label embedding concatenated to z (default ``min(latent_dim, 64)``).
        kernel_size: kernel of the up-sampling and output convolutions (paper: 5).
        upsample: ``"resize"`` (nearest up-sampling and a reflect-padded convolution), ``"antialiased"`` (the paper's
            transposed convolutions, each block followed by a binomial blur) or ``"transposed"`` (the paper's
            layers as they are); the first two leave no checkerboard and pad the last convolution by reflection.
    """

    def __init__(
        self,
        latent_dim: int = 100,
        num_classes: int = 4,
        width: float = 1.0,
        output_size: int = 64,
        embedding_dim: int | None = None,
        kernel_size: int = 5,
        upsample: str = "transposed",
    ):
        super().__init__()
        if upsample not in UPSAMPLING_MODES:
            raise ValueError(f"upsample must be one of {UPSAMPLING_MODES}, got {upsample!r}")
        self.upsample_mode = upsample
        self.latent_dim = latent_dim
        self.num_classes = num_classes
        self.output_size = output_size
        steps = _num_upsamplings(output_size)
        self.embedding_dim = 0 if num_classes == 0 else (embedding_dim or min(latent_dim, 64))
        self.embed = nn.Embedding(num_classes, self.embedding_dim) if num_classes else None
        chans = [_channels(width) // 2**k for k in range(steps + 1)]
        self.start_channels = chans[0]
        self.project = nn.Sequential(
            nn.Linear(latent_dim + self.embedding_dim, chans[0] * 16, bias=False),
            nn.Unflatten(1, (chans[0], 4, 4)),
            nn.BatchNorm2d(chans[0]),
            nn.ReLU(inplace=True),
        )
        blocks = []
        for c_in, c_out in zip(chans[:-1], chans[1:]):
            blocks += [*self._upsampling(c_in, c_out, kernel_size), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
            if upsample == "antialiased":
                blocks.append(BinomialBlur())
        self.upsample = nn.Sequential(*blocks)
        padding_mode = "zeros" if upsample == "transposed" else "reflect"
        self.to_image = nn.Sequential(
            nn.Conv2d(chans[-1], 1, kernel_size, 1, padding=kernel_size // 2, padding_mode=padding_mode), nn.Tanh()
        )
        self.apply(init_dcgan_weights)

    def _upsampling(self, c_in: int, c_out: int, kernel_size: int) -> list[nn.Module]:
        """The layers that double the side: a transposed convolution, or nearest up-sampling and a convolution (the
        blur of ``"antialiased"`` comes after the block's batch norm and ReLU, so the batch norm can be folded)."""
        pad = kernel_size // 2
        if self.upsample_mode in ("transposed", "antialiased"):
            return [nn.ConvTranspose2d(c_in, c_out, kernel_size, 2, padding=pad, output_padding=1, bias=False)]
        return [
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(c_in, c_out, kernel_size, 1, padding=pad, padding_mode="reflect", bias=False),
        ]

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if self.embed is not None:
            if labels is None:
                raise ValueError("a conditional ROIGenerator needs class labels")
            z = torch.cat([z, self.embed(labels.long().view(-1))], dim=1)
        return self.to_image(self.upsample(self.project(z)))


class ROIDiscriminator(nn.Module):
    """ROIs (B, 1, S, S) in [-1, 1] and labels (B,) to real/fake logits (B,).

    Args:
        num_classes: number of classes for the projection term; 0 for unconditional.
        width: channel multiplier (paper 1.0: 64..1024 filters at 64 px, 32..1024 at 128 px).
        input_size: 64 (paper) or 128.
        dropout: dropout probability after each block (paper: 0.5 as an option; 0 disables).
        kernel_size: convolution kernel (paper: 5).
        norm: ``"batch"`` (paper: batch norm after every convolution but the first) or ``"spectral"``
            (spectral normalisation of every convolution, the head and the class embedding, no batch norm;
            the usual companion of a projection discriminator, Miyato and Koyama 2018).
        aux_classifier: add an auxiliary class head (AC-GAN, Odena et al. 2017) next to the projection term;
            ``forward(x, labels, return_class_logits=True)`` then also returns (B, num_classes) class logits.
    """

    def __init__(
        self,
        num_classes: int = 4,
        width: float = 1.0,
        input_size: int = 64,
        dropout: float = 0.0,
        kernel_size: int = 5,
        norm: str = "batch",
        aux_classifier: bool = False,
    ):
        super().__init__()
        if norm not in ("batch", "spectral"):
            raise ValueError(f"norm must be 'batch' or 'spectral', got {norm!r}")
        self.num_classes, self.input_size = num_classes, input_size
        strided = _num_upsamplings(input_size)
        chans = [max(8, _channels(width) // 2 ** (strided - k)) for k in range(strided + 1)]
        pad = kernel_size // 2
        layers: list[nn.Module] = []
        c_in = 1
        for k, c_out in enumerate(chans):
            stride = 2 if k < strided else 1
            layers.append(nn.Conv2d(c_in, c_out, kernel_size, stride, padding=pad, bias=k == 0 or norm == "spectral"))
            if k > 0 and norm == "batch":
                layers.append(nn.BatchNorm2d(c_out))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            c_in = c_out
        self.features = nn.Sequential(*layers, nn.Flatten())
        feature_dim = chans[-1] * 16
        self.head = nn.Linear(feature_dim, 1)
        self.embed = nn.Embedding(num_classes, feature_dim) if num_classes else None
        if aux_classifier and not num_classes:
            raise ValueError("aux_classifier needs num_classes > 0")
        self.classifier = nn.Linear(feature_dim, num_classes) if aux_classifier else None
        self.apply(init_dcgan_weights)
        if norm == "spectral":
            for module in self.modules():
                if isinstance(module, (nn.Conv2d, nn.Linear, nn.Embedding)):
                    nn.utils.parametrizations.spectral_norm(module)

    def forward(
        self, x: torch.Tensor, labels: torch.Tensor | None = None, return_class_logits: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Real/fake logits (B,); with ``return_class_logits`` also the auxiliary class logits (B, num_classes)."""
        features = self.features(x)
        logits = self.head(features).squeeze(1)
        if self.embed is not None:
            if labels is None:
                raise ValueError("a conditional ROIDiscriminator needs class labels")
            logits = logits + (self.embed(labels.long().view(-1)) * features).sum(dim=1)
        if not return_class_logits:
            return logits
        if self.classifier is None:
            raise ValueError("return_class_logits needs a discriminator built with aux_classifier=True")
        return logits, self.classifier(features)
