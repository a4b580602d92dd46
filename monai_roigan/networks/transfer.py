"""Transfer from a pretrained GAN: copy its weights into a network of fewer classes, and freeze the discriminator's
lower blocks (FreezeD, Mo et al. 2020).

Tissue pretraining trains the same architecture on K lesion classes plus normal tissue (K + 1 classes); the
lesion generator then starts from those weights. Every tensor whose shape matches is copied; the class-indexed
tensors (label embeddings, the auxiliary class head) keep their first K rows, the lesion classes, in the same
order. FreezeD then fine-tunes with the discriminator's first convolution blocks fixed: the low-level features
learnt from thousands of tissue patches are kept, and only the upper blocks and heads adapt to the few lesions.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["transfer_weights", "freeze_lower_blocks", "discriminator_blocks"]

#: modules whose tensors' first dimension indexes classes (label embeddings, the auxiliary class head; with spectral
#: normalisation their parametrizations too): a pretrained network may have more rows (classes)
CLASS_INDEXED = ("embed.", "classifier.")


def transfer_weights(source_state: dict[str, torch.Tensor], network: nn.Module) -> list[str]:
    """Copy ``source_state`` into ``network`` in place; returns the names of ``network``'s tensors left as they were.

    A tensor of the same shape is copied; a class-indexed tensor (:data:`CLASS_INDEXED`) with more rows in the
    source gets its first rows. Names missing from the source, or shapes that differ otherwise, are left alone
    and returned (the caller decides whether that is acceptable).
    """
    target = network.state_dict()
    kept = []
    for name, tensor in target.items():
        source = source_state.get(name)
        if source is not None and source.shape == tensor.shape:
            target[name] = source.to(tensor.dtype)
        elif (
            source is not None
            and name.startswith(CLASS_INDEXED)
            and source.shape[1:] == tensor.shape[1:]
            and source.shape[0] >= tensor.shape[0]
        ):
            target[name] = source[: tensor.shape[0]].to(tensor.dtype)
        else:
            kept.append(name)
    network.load_state_dict(target)
    return kept


def discriminator_blocks(discriminator: nn.Module) -> list[list[nn.Module]]:
    """The convolution blocks of ``discriminator.features`` from the input upwards: each a Conv2d and the layers
    after it (batch norm, activation, dropout) up to the next Conv2d."""
    blocks: list[list[nn.Module]] = []
    for layer in discriminator.features:
        if isinstance(layer, nn.Conv2d):
            blocks.append([])
        if blocks:
            blocks[-1].append(layer)
    return blocks


def freeze_lower_blocks(discriminator: nn.Module, num_blocks: int) -> list[str]:
    """FreezeD: no gradient for the parameters of the first ``num_blocks`` convolution blocks; returns their names.

    Batch-norm running statistics of frozen blocks keep updating in training mode, as in the FreezeD reference
    implementation, which freezes parameters only.

    Raises:
        ValueError: ``num_blocks`` negative or not smaller than the number of blocks (the head must learn).
    """
    blocks = discriminator_blocks(discriminator)
    if not 0 <= int(num_blocks) < len(blocks):
        raise ValueError(f"freeze_d_blocks must be in [0, {len(blocks) - 1}] for this discriminator, got {num_blocks}")
    frozen = {id(p) for block in blocks[: int(num_blocks)] for layer in block for p in layer.parameters()}
    names = []
    for name, parameter in discriminator.named_parameters():
        if id(parameter) in frozen:
            parameter.requires_grad_(False)
            names.append(name)
    return names
