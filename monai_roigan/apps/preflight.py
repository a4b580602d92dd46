"""Checks that run before the first training step, so a doomed run fails in seconds with a clear message.

:func:`check_training_setup` is the first expression of the bundle's ``training`` list. It refuses, with a
:class:`~monai_roigan.utils.errors.ConfigurationError` naming the setting or folder:

- class names that are unknown, repeated or absent;
- an ``image_size`` the networks cannot make (a power of two, at least 16), or networks built for another size
  or class count than the configuration's;
- output folders that cannot be created or written (read-only mount, a file in the way, no permission);
- a disk with less free space than the run's checkpoints need (estimated from the networks' sizes);
- with ``resume=True``, a latest checkpoint trained for another class count or image size.

ROI data of the wrong size is refused where the data is read (:func:`~monai_roigan.apps.training_datalist`).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from os import PathLike
from pathlib import Path

from torch import nn

from monai_roigan.data.classes import ALL_CLASSES
from monai_roigan.handlers.checkpoint import latest_checkpoint
from monai_roigan.networks.loading import GENERATOR_KINDS, generator_geometry, generator_state
from monai_roigan.utils.errors import CheckpointError, ConfigurationError
from monai_roigan.utils.safe_load import load_state_file

__all__ = [
    "check_training_setup",
    "check_training_options",
    "check_class_names",
    "check_writable",
    "check_free_space",
    "check_resume_compatible",
    "checkpoint_bytes",
]

_MARGIN_BYTES = 64 * 2**20  # logs, sample grids, TensorBoard events, the exported model


def check_class_names(class_names: Sequence[str]) -> None:
    """Refuse an empty, repeated or unknown class name list (known names: ``ALL_CLASSES``)."""
    names = list(class_names)
    unknown = [c for c in names if c not in ALL_CLASSES]
    if not names or unknown or len(set(names)) != len(names):
        problem = f"unknown {unknown}" if unknown else ("empty" if not names else "repeated names")
        raise ConfigurationError(f"class_names {names}: {problem}; known class names are {list(ALL_CLASSES)}")


def check_training_options(class_names: Sequence[str], image_size: int) -> None:
    """The checks that need no network: class names (:func:`check_class_names`) and a buildable ``image_size``.

    The bundle runs this before it builds the networks, so a bad ``image_size`` is reported as such rather than
    as a failure to instantiate the generator.
    """
    check_class_names(class_names)
    if image_size < 16 or image_size & (image_size - 1):
        raise ConfigurationError(f"image_size {image_size}: the networks need a power of two >= 16 (e.g. 64 or 128)")


def check_writable(folder: str | PathLike) -> Path:
    """Create ``folder`` if needed and prove it writable by writing and deleting a probe file."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write_probe_"):
            pass
    except OSError as err:
        raise ConfigurationError(f"{folder}: output folder is not writable ({err.strerror or err})") from None
    return folder


def checkpoint_bytes(*modules: nn.Module, optimizer_slots: int = 2) -> int:
    """Estimated size of one training checkpoint: each module's state plus Adam's two moments per parameter."""
    total = 0
    for module in modules:
        states = sum(t.numel() * t.element_size() for t in module.state_dict().values())
        params = sum(p.numel() * p.element_size() for p in module.parameters() if p.requires_grad)
        total += states + optimizer_slots * params
    return total


def check_free_space(folder: str | PathLike, needed: int) -> None:
    """Refuse when the disk holding ``folder`` has fewer than ``needed`` bytes free."""
    free = shutil.disk_usage(folder).free
    if free < needed:
        raise ConfigurationError(
            f"{folder}: {free / 2**20:.0f} MiB free on this disk, training needs about {needed / 2**20:.0f} MiB "
            "(checkpoints kept plus one being written); free space, lower n_saved/n_best or change output_dir"
        )


def check_resume_compatible(checkpoint_dir: str | PathLike, generator: nn.Module, image_size: int) -> None:
    """Refuse a latest checkpoint whose generator is of another kind (noise-to-ROI or context), class count or output
    size than ``generator``."""
    path = latest_checkpoint(checkpoint_dir)
    if path is None:
        return
    saved = load_state_file(path, map_location="cpu")
    if "generator" not in saved:
        raise CheckpointError(path, f"not a training checkpoint (no 'generator'; it has {sorted(saved)})")
    saved_state = generator_state({"generator": saved["generator"]})
    saved, configured = generator_geometry(saved_state), generator_geometry(generator.state_dict())
    if saved["kind"] != configured["kind"]:
        raise ConfigurationError(
            f"{path}: the checkpoint holds a {GENERATOR_KINDS[saved['kind']]}, the configuration builds a "
            f"{GENERATOR_KINDS[configured['kind']]}; resume with the configuration it was trained with, or start a "
            "new output_dir"
        )
    if configured["kind"] == "context" and saved_state["context_bank"].shape != generator.context_bank.shape:
        raise ConfigurationError(
            f"{path}: the checkpoint's context bank holds {saved_state['context_bank'].shape[0]} ROIs, the "
            f"configuration's {generator.context_bank.shape[0]}; resume with the context_bank_size (and data) it was "
            "trained with, or start a new output_dir"
        )
    if saved["num_classes"] != configured["num_classes"]:
        raise ConfigurationError(
            f"{path}: the checkpoint's generator has {saved['num_classes']} classes, the configuration "
            f"{configured['num_classes']} (class_names); resume with the classes it was trained with, or start a "
            "new output_dir"
        )
    if saved["output_size"] != image_size:
        raise ConfigurationError(
            f"{path}: the checkpoint's generator makes {saved['output_size']} px ROIs, the configuration's "
            f"image_size is {image_size}; resume with image_size={saved['output_size']} or start a new output_dir"
        )


def check_training_setup(
    class_names: Sequence[str],
    image_size: int,
    generator: nn.Module,
    discriminator: nn.Module,
    output_dirs: Sequence[str | PathLike],
    checkpoint_dir: str | PathLike,
    checkpoints_kept: int = 4,
    resume: bool = False,
) -> None:
    """Run every check of the module docstring.

    Raises:
        ConfigurationError: a setup that cannot work (see the module docstring).
        CheckpointError: with ``resume``, a latest checkpoint that is unreadable, refused or not a training one.

    Args:
        class_names: the configuration's class list (its length is the class count).
        image_size: ROI side in pixels the networks are built for.
        generator, discriminator: the configured (untrained) networks.
        output_dirs: every folder the run writes (outputs, checkpoints, the exported model's folder).
        checkpoint_dir: where checkpoints go (its disk is checked for space).
        checkpoints_kept: how many checkpoints exist at once at most (``n_saved + n_best``).
        resume: whether the run resumes from ``checkpoint_dir``.
    """
    check_training_options(class_names, image_size)
    built = generator_geometry(generator.state_dict())
    if built["num_classes"] not in (0, len(class_names)) or built["output_size"] != image_size:
        raise ConfigurationError(
            f"the generator is built for {built['num_classes']} classes and {built['output_size']} px, the "
            f"configuration has {len(class_names)} classes and image_size {image_size}"
        )
    for folder in output_dirs:
        check_writable(folder)
    per_checkpoint = checkpoint_bytes(generator, discriminator) + checkpoint_bytes(
        generator, optimizer_slots=0
    )  # + EMA
    check_free_space(checkpoint_dir, (checkpoints_kept + 1) * per_checkpoint + _MARGIN_BYTES)
    if resume:
        check_resume_compatible(checkpoint_dir, generator, image_size)
