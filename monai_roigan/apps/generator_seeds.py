"""Generators of one recipe that differ only in their own seed, for a verdict about the recipe.

A GAN trained twice on the same data with different seeds gives different generators, and a downstream verdict on
one of them is a verdict on that draw. :func:`seed_generators` returns the bundle's generator plus ``count - 1``
more, trained by the same bundle training (the same config files, presets and command-line settings) with
``generator_seed`` set to ``generator_seed + 1``, ``+ 2``, ... The data, its split and the ROIs stay those of
``seed``; only the GAN's own randomness (initialisation, latent draws, batch order) changes.

Each extra generator goes to ``<bundle_root>/models/generator_seed<s>/model.pt``, its training outputs to
``<bundle_root>/runs/generator_seed<s>``. A generator already there is reused, and an interrupted training resumes
from its checkpoints, as a training run does.
"""

from __future__ import annotations

import logging
from os import PathLike
from pathlib import Path

from monai_roigan.apps.bundle_config import bundle_run_arguments
from monai_roigan.utils.errors import ConfigurationError

__all__ = ["seed_generators"]

logger = logging.getLogger("monai_roigan.generator_seeds")

# settings of the calling run that a seed's training sets itself
_OWN = ("generator_seed", "output_dir", "model_path", "ckpt_dir")


def _config_files(config_file, overlay: str) -> list[str]:
    files = config_file.split(",") if isinstance(config_file, str) else list(config_file or [])
    return [str(f) for f in files if Path(str(f)).name != overlay]


def seed_generators(
    model_path: str | PathLike, count: int, generator_seed: int, bundle_root: str | PathLike, overlay: str
) -> list[str]:
    """``[model_path]`` and ``count - 1`` generators trained with the next generator seeds (module docstring).

    Called from a bundle overlay (``downstream.json``) while ``python -m monai.bundle run`` executes it: the
    training reuses that run's config files, less ``overlay``, and its command-line settings.

    Raises:
        ValueError: ``count`` below 1.
        ConfigurationError: ``count`` above 1 outside a ``monai.bundle`` run.
    """
    if int(count) < 1:
        raise ValueError(f"generator_seeds must be at least 1, got {count}")
    paths = [str(model_path)]
    if int(count) == 1:
        return paths
    run = bundle_run_arguments()
    if run is None or not run.get("config_file"):
        raise ConfigurationError(
            f"generator_seeds {count} trains {int(count) - 1} more generator(s) through the bundle's training: run "
            "it with python -m monai.bundle run ... --config_file \"['bundle/configs/train.json', ...]\""
        )
    from monai.bundle import run as bundle_run

    files = _config_files(run["config_file"], overlay)
    settings = {k: v for k, v in (run.get("override") or {}).items() if k not in _OWN}
    for seed in range(int(generator_seed) + 1, int(generator_seed) + int(count)):
        path = Path(bundle_root, "models", f"generator_seed{seed}", "model.pt")
        paths.append(str(path))
        if path.is_file():
            logger.info(f"generator seed {seed}: {path} exists, reused")
            continue
        logger.info(f"generator seed {seed}: training with {files} into {path}")
        bundle_run(
            "training",
            config_file=files,
            meta_file=run.get("meta_file"),
            logging_file=False,
            **settings,
            generator_seed=seed,
            output_dir=str(Path(bundle_root, "runs", f"generator_seed{seed}")),
            model_path=str(path),
        )
    return paths
