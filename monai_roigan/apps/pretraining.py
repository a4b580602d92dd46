"""Learn tissue first, then lesions: the two stages of ``bundle/configs/pretrain.json``.

A mammogram holds far more normal tissue than lesions (100 MIAS films give thousands of 64x64 tissue patches,
against a few dozen lesion ROIs). Stage 1 trains the GAN on *tissue ROIs*: the lesion ROIs of the training women
(labels 0..K-1) plus normal-tissue ROIs cut inside the breasts of their normal mammograms (label K), with the
same architecture and K + 1 classes. Stage 2 starts the lesion GAN from those weights
(:func:`~monai_roigan.networks.transfer.transfer_weights`: the K lesion rows of the class-indexed tensors) and
fine-tunes it on the lesion ROIs with the discriminator's lower blocks frozen (FreezeD,
:func:`~monai_roigan.networks.transfer.freeze_lower_blocks`).

Stage 1 writes ``pretrained.pt`` (``{"generator": EMA generator state, "discriminator": state}``, tensors only,
atomically) from its best checkpoint by the quality score (its last weights when it has none); a later run that
finds the file skips stage 1, so a crash in stage 2 never repeats it. Each stage has its own checkpoints and
resumes from them (``--resume true``).

No held-out woman enters either stage: the tissue ROIs follow the lesion split of ``holdout_fraction`` /
``split_seed`` (:func:`~monai_roigan.data.splits.held_out_normal_groups` for the women without a lesion), as the
evaluation does.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from os import PathLike
from pathlib import Path

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel

from monai_roigan.apps.training_data import drop_background_rois
from monai_roigan.data.classes import NORMAL_CLASS
from monai_roigan.data.roi_cache import roi_cache_datalist
from monai_roigan.data.splits import held_out_normal_groups, split_datalist
from monai_roigan.networks.loading import generator_state
from monai_roigan.networks.transfer import freeze_lower_blocks, transfer_weights
from monai_roigan.utils.atomic import atomic_write
from monai_roigan.utils.errors import CheckpointError, ConfigurationError
from monai_roigan.utils.safe_load import load_state_file

__all__ = ["tissue_datalist", "run_pretraining", "transfer_pretrained"]

logger = logging.getLogger("monai_roigan.pretraining")


def tissue_datalist(
    cache_path: str | PathLike,
    class_names: Sequence[str],
    image_size: int | None = None,
    holdout_fraction: float = 0.0,
    split_seed: int = 0,
    max_background_share: float | None = None,
) -> list[dict]:
    """Stage 1's training items: the lesion ROIs of the training women (labels 0..K-1, the split that
    :func:`~monai_roigan.apps.training_datalist` makes) and their normal-tissue ROIs (label K), without the ROIs
    that hold more than ``max_background_share`` background
    (:func:`~monai_roigan.apps.training_data.drop_background_rois`).
    The context generator (``context.json``) trains on the same items.

    Raises:
        ConfigurationError: the cache holds no normal-tissue ROIs (it was built with ``normal_per_image=0``), or
            ROIs of another size than ``image_size``; naming the file.
    """
    names = list(class_names)
    try:
        items = roi_cache_datalist(cache_path, classes=[*names, NORMAL_CLASS])
    except ValueError as err:  # a class the cache does not hold
        raise ConfigurationError(
            f"{cache_path}: cannot pretrain on tissue ({err}); the cache needs the lesion "
            "classes and normal-tissue ROIs (normal_per_image > 0)"
        ) from None
    for item in items:
        item["label"] = names.index(item["class_name"]) if item["class_name"] in names else len(names)
    lesions = [i for i in items if i["label"] < len(names)]
    normals = [i for i in items if i["label"] == len(names)]
    if not normals:
        raise ConfigurationError(
            f"{cache_path}: no normal-tissue ROIs for pretraining; build it with normal_per_image > 0"
        )
    train, held = split_datalist(lesions, holdout_fraction, split_seed)
    held_normals = held_out_normal_groups(
        [n["group"] for n in normals],
        [t["group"] for t in train],
        [h["group"] for h in held],
        holdout_fraction,
        split_seed,
    )
    kept = train + [n for n in normals if str(n["group"]) not in held_normals]
    kept = drop_background_rois(kept, max_background_share)
    if image_size is not None and {tuple(i["image"].shape) for i in kept} != {(1, image_size, image_size)}:
        raise ConfigurationError(f"{cache_path}: tissue ROIs are not all (1, {image_size}, {image_size})")
    lesion_count = sum(i["label"] < len(names) for i in kept)
    logger.info(
        "tissue ROIs: %d lesion and %d normal-tissue ROIs of the training women", lesion_count, len(kept) - lesion_count
    )
    return kept


def run_pretraining(pretrainer, path: str | PathLike, ema: AveragedModel, discriminator: nn.Module) -> Path:
    """Run stage 1 (``pretrainer``, an Ignite engine) and save its weights to ``path``; skipped when ``path`` exists.

    The saved generator is the EMA generator of the best checkpoint (``pretrainer.state.best_checkpoint``, set
    by :class:`~monai_roigan.handlers.GanCheckpointSaver`) with that checkpoint's discriminator, or the final
    weights when no checkpoint was scored.
    """
    path = Path(path)
    if path.is_file():
        logger.info("tissue pretraining: reusing %s (delete it to pretrain again)", path)
        return path
    logger.info("tissue pretraining: stage 1 starts")
    pretrainer.run()
    best = getattr(pretrainer.state, "best_checkpoint", None)
    if best:
        state = load_state_file(best)
        weights = {"generator": generator_state(state), "discriminator": state["discriminator"]}
    else:
        weights = {"generator": ema.module.state_dict(), "discriminator": discriminator.state_dict()}
    weights = {part: {k: v.detach().cpu() for k, v in sd.items()} for part, sd in weights.items()}
    atomic_write(path, lambda tmp: torch.save(weights, tmp))
    logger.info("tissue pretraining: saved %s (from %s)", path, best or "the final weights")
    return path


def transfer_pretrained(
    path: str | PathLike, generator: nn.Module, discriminator: nn.Module, ema: AveragedModel, freeze_d_blocks: int = 0
) -> list[str]:
    """Start stage 2 from stage 1: copy ``path``'s weights into the lesion networks (their EMA copy restarts from
    the generator), then freeze the discriminator's first ``freeze_d_blocks`` blocks. Returns the frozen names.

    Raises:
        CheckpointError: ``path`` is not a pretrained file, or its networks do not fit (another width or size).
        ValueError: ``freeze_d_blocks`` out of range.
    """
    state = load_state_file(path)
    if not {"generator", "discriminator"} <= set(state):
        raise CheckpointError(path, "not a pretrained file (needs 'generator' and 'discriminator' weights)")
    left = transfer_weights(state["generator"], generator) + transfer_weights(state["discriminator"], discriminator)
    if left:
        raise CheckpointError(path, f"pretrained weights do not fit the lesion networks: {left[:4]}")
    ema.module.load_state_dict(generator.state_dict())
    ema.n_averaged.zero_()
    frozen = freeze_lower_blocks(discriminator, freeze_d_blocks)
    logger.info("tissue pretraining: lesion networks start from %s; %d discriminator tensors frozen", path, len(frozen))
    return frozen
