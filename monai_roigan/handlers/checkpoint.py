"""Atomic training checkpoints with RNG states, the best ones by a score, and resuming from the latest.

:class:`GanCheckpointSaver` saves, every ``save_interval`` iterations and at the end of training, one file
``checkpoint_<iteration>.pt`` holding the state dicts of everything in ``save_dict`` (generator,
discriminator, both optimizers, EMA generator), the trainer's epoch/iteration and :class:`RNGStates` (Python,
NumPy, torch, CUDA and the trainer's own stream). Files are written by Ignite's
:class:`~ignite.handlers.DiskSaver` with ``atomic=True``: serialised to a temporary file in the same folder,
then renamed, so a crash mid-write never leaves a ``checkpoint_*.pt`` that is partial. Only the last
``n_saved`` are kept. The saver also keeps the ``n_best`` best-scoring states: MONAI's handler contract, where a
scoring handler writes ``engine.state.metrics[name]`` and the saver reads it by name (``key_metric_name``),
triggered by :attr:`~monai_roigan.engines.ScoreEvents.SCORED` so that the order the handlers were attached in
does not matter.

:class:`GanCheckpointLoader` (a separate handler, as MONAI's ``CheckpointLoader``) resumes: when training starts
it deletes the temporary files of interrupted writes, loads the latest ``checkpoint_*.pt`` (``torch.load``
with ``weights_only=True``: a pickle carrying code is refused) and the iteration count continues from it.
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Mapping
from os import PathLike
from pathlib import Path

import ignite.distributed as idist
import numpy as np
import torch
from ignite.engine import Engine, Events
from ignite.handlers import Checkpoint, DiskSaver

from monai_roigan.engines.events import ScoreEvents, ensure_score_events
from monai_roigan.networks.loading import generator_geometry, upsampling_mode
from monai_roigan.utils.errors import CheckpointError
from monai_roigan.utils.safe_load import load_state_file

__all__ = [
    "RNGStates",
    "GanCheckpointSaver",
    "GanCheckpointLoader",
    "latest_checkpoint",
    "training_checkpoints",
    "load_checkpoint",
    "training_objects",
]

_PATTERN = re.compile(r"^checkpoint_(\d+)\.pt$")


class RNGStates:
    """Random-number-generator states as a state dict of tensors and ints (safe for ``weights_only`` loads).

    Args:
        generators: named extra :class:`torch.Generator` objects to save (e.g. the trainer's ``rng``).
    """

    def __init__(self, generators: Mapping[str, torch.Generator] | None = None):
        self.generators = dict(generators or {})

    def state_dict(self) -> dict:
        name, keys, pos, has_gauss, cached = np.random.get_state()
        version, words, gauss = random.getstate()
        state = {
            "torch": torch.get_rng_state(),
            "numpy": {
                "name": name,
                "keys": torch.from_numpy(keys.astype(np.int64)),
                "pos": int(pos),
                "has_gauss": int(has_gauss),
                "cached": float(cached),
            },
            "python": {"version": int(version), "words": torch.tensor(words, dtype=torch.int64), "gauss": gauss},
            "generators": {k: g.get_state() for k, g in self.generators.items()},
        }
        if torch.cuda.is_available():
            state["cuda"] = torch.cuda.get_rng_state_all()
        return state

    def load_state_dict(self, state: dict) -> None:
        # a checkpoint loaded with map_location="cuda" has its RNG byte tensors on the GPU; RNGs need them on the CPU
        torch.set_rng_state(state["torch"].cpu())
        n = state["numpy"]
        np.random.set_state(
            (n["name"], n["keys"].cpu().numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"])
        )
        p = state["python"]
        random.setstate((p["version"], tuple(int(w) for w in p["words"].cpu()), p["gauss"]))
        for key, value in state["generators"].items():
            if key in self.generators:
                self.generators[key].set_state(value.cpu())
        if "cuda" in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])


def training_checkpoints(folder: str | PathLike) -> list[Path]:
    """The complete ``checkpoint_<iteration>.pt`` files of a training in ``folder``, by iteration (oldest first);
    ``best_checkpoint_*`` files and partial writes are not among them. An absent folder has none."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _PATTERN.match(p.name)) and p.is_file()]
    return [p for _, p in sorted(found)]


def latest_checkpoint(folder: str | PathLike) -> Path | None:
    """The complete ``checkpoint_<iteration>.pt`` with the highest iteration in ``folder``, or None."""
    found = training_checkpoints(folder)
    return found[-1] if found else None


def load_checkpoint(path: str | PathLike, to_load: Mapping, map_location="cpu") -> None:
    """Load a checkpoint into ``to_load`` objects with ``torch.load(weights_only=True)``.

    Raises:
        CheckpointError: (a ``ValueError``) the file is not a plain-tensor checkpoint (e.g. a pickle with code),
            is unreadable, or lacks an entry of ``to_load``, naming it.
    """
    checkpoint = load_state_file(path, map_location)
    missing = [k for k in to_load if k not in checkpoint]
    if missing:
        raise CheckpointError(path, f"checkpoint lacks {missing}; it has {sorted(checkpoint)}")
    try:
        Checkpoint.load_objects(to_load=dict(to_load), checkpoint=checkpoint)
    except (RuntimeError, KeyError, ValueError) as err:  # shapes or keys of another architecture / class count
        hint = _upsampling_hint(checkpoint, to_load)
        raise CheckpointError(path, f"does not fit the configured networks and optimizers{hint} ({err})") from None


def _upsampling_hint(checkpoint: Mapping, to_load: Mapping) -> str:
    """Why a generator checkpoint does not fit, when its up-sampling layout is not the configured one."""
    saved, network = checkpoint.get("generator"), to_load.get("generator")
    configured = getattr(network, "upsample_mode", None)
    if not isinstance(saved, Mapping) or configured is None:
        return ""
    try:
        geometry = generator_geometry(saved)
    except (KeyError, ValueError, IndexError):
        return ""
    if geometry["kind"] != "noise" or f"{geometry['prefix']}project.0.weight" not in saved:
        return ""  # not a noise generator: its layout is not the question
    found = upsampling_mode(saved, geometry["prefix"])
    if found == configured:
        return ""
    return (
        f": its generator up-samples with {found!r} layers and the configured one with {configured!r} "
        f'(files before 0.11.0 use \'transposed\'); set "upsample": "{found}" to resume it'
    )


def training_objects(save_dict: Mapping, engine: Engine) -> dict:
    """What a checkpoint holds: ``save_dict`` plus the trainer's progress (``"trainer"``) and the random states
    (``"rng"``: Python, NumPy, torch, CUDA and the trainer's own stream ``engine.rng`` when it has one)."""
    objects = dict(save_dict)
    objects.setdefault("trainer", engine)
    objects.setdefault("rng", RNGStates({"trainer": engine.rng} if hasattr(engine, "rng") else {}))
    return objects


def _iteration(engine: Engine, _event) -> int:
    return engine.state.iteration


class GanCheckpointSaver:
    """Save atomic checkpoints during training, and the best ones by a score in ``engine.state.metrics``.

    Every ``save_interval`` iterations and at the end: ``checkpoint_<iteration>.pt``, the last ``n_saved`` kept.
    Whenever a scoring handler fires :attr:`~monai_roigan.engines.ScoreEvents.SCORED` with a fresh
    ``key_metric_name``, the score ``engine.state.metrics[key_metric_name]`` (higher is better) decides whether
    the state is kept among the ``n_best`` best, as ``best_checkpoint_<iteration>_<key_metric_name>=<score>.pt``;
    the path of the best one is put in ``engine.state.best_checkpoint`` for other handlers (e.g.
    :class:`~monai_roigan.handlers.ExportGenerator`).
    A resumed run (iteration > 0 when its first epoch starts) reads the earlier best scores back from the file
    names, so it keeps comparing against (and eventually removes) them.

    Args:
        save_dir: checkpoint folder (created).
        save_dict: objects with ``state_dict``/``load_state_dict`` to save, e.g.
            ``{"generator": G, "discriminator": D, "g_opt": ..., "d_opt": ..., "ema": ...}``; the trainer and the
            random states are added (:func:`training_objects`).
        save_interval: save every this many iterations (0: only at the end).
        n_saved: how many recent checkpoints to keep.
        n_best: how many best-scoring checkpoints to keep (0: none).
        key_metric_name: the score's name in ``engine.state.metrics`` and in the best checkpoints' file names.
    """

    def __init__(
        self,
        save_dir: str | PathLike,
        save_dict: Mapping,
        save_interval: int = 200,
        n_saved: int = 3,
        n_best: int = 1,
        key_metric_name: str = "quality",
    ):
        self.save_dir = Path(save_dir)
        self.save_dict = dict(save_dict)
        self.save_interval = int(save_interval)
        self.n_saved = int(n_saved)
        self.n_best = int(n_best)
        self.key_metric_name = key_metric_name
        self.saver = DiskSaver(str(self.save_dir), atomic=True, require_empty=False, create_dir=True)
        self.best: Checkpoint | None = None
        self._reload_pending = False

    def attach(self, engine: Engine) -> None:
        to_save = training_objects(self.save_dict, engine)
        latest = Checkpoint(
            to_save, self.saver, filename_prefix="", n_saved=self.n_saved, global_step_transform=_iteration
        )
        if self.save_interval > 0:
            engine.add_event_handler(Events.ITERATION_COMPLETED(every=self.save_interval), latest)
        engine.add_event_handler(Events.COMPLETED, latest)
        if self.n_best > 0:
            self.best = Checkpoint(
                dict(to_save),
                self.saver,
                filename_prefix="best",
                n_saved=self.n_best,
                global_step_transform=_iteration,
                score_function=lambda e: float(e.state.metrics[self.key_metric_name]),
                score_name=self.key_metric_name,
            )
            ensure_score_events(engine)
            engine.add_event_handler(ScoreEvents.SCORED, self.save_best)
            engine.add_event_handler(Events.STARTED, self._arm_reload)
            engine.add_event_handler(Events.EPOCH_STARTED, self._reload_best)

    def save_best(self, engine: Engine) -> None:
        """Keep the current state if its score ranks among the ``n_best`` so far; publish the best one's path.
        A ``SCORED`` event whose fresh metrics (``engine.state.scored``, :func:`~monai_roigan.engines.fire_scored`)
        do not include the key metric is ignored: another handler scored, and the key metric is stale."""
        scored = getattr(engine.state, "scored", None)
        if scored is not None and self.key_metric_name not in scored:
            return
        self.best(engine)
        self._publish(engine)

    def _publish(self, engine: Engine) -> None:
        if self.best.last_checkpoint is not None:  # Ignite sorts by score: the last is the best
            engine.state.best_checkpoint = str(self.best.last_checkpoint)

    def _arm_reload(self, engine: Engine) -> None:
        self._reload_pending = True

    def _reload_best(self, engine: Engine) -> None:
        """On the first epoch of a run (after every ``STARTED`` handler, a loader's too): if the run resumed, the
        earlier best checkpoints' scores, read back from their file names."""
        if not self._reload_pending:
            return
        self._reload_pending = False
        if engine.state.iteration == 0:
            return  # a fresh run
        pattern = re.compile(rf"^best_checkpoint_\d+_{re.escape(self.key_metric_name)}=(-?[\d.]+)\.pt$")
        found = sorted(
            (float(m.group(1)), p.name) for p in self.save_dir.glob("best_*.pt") if (m := pattern.match(p.name))
        )
        self.best.load_state_dict({"_saved": found})
        if found:
            engine.state.best_checkpoint = str(self.save_dir / found[-1][1])


class GanCheckpointLoader:
    """Resume training from the latest ``checkpoint_*.pt`` of ``save_dir`` when training starts.

    Deletes the temporary files of checkpoint writes that a crash interrupted (rank 0), loads the latest complete
    checkpoint into the same objects a :class:`GanCheckpointSaver` saves (``torch.load`` with
    ``weights_only=True``: a pickle carrying code is refused), and continues the iteration count from it; the
    configured ``max_epochs`` wins over the saved one. Without a checkpoint it logs that it starts from scratch.
    The loaded file's path is put in ``engine.state.resumed_from`` (None when starting from scratch).

    Args:
        save_dir: the checkpoint folder.
        save_dict: the objects to load into, as given to the saver.
        map_location: device for loading.
    """

    def __init__(self, save_dir: str | PathLike, save_dict: Mapping, map_location="cpu"):
        self.save_dir = Path(save_dir)
        self.save_dict = dict(save_dict)
        self.map_location = map_location
        self.logger = logging.getLogger("monai_roigan.checkpoint")

    def attach(self, engine: Engine) -> None:
        engine.add_event_handler(Events.STARTED, self)

    def _remove_partial_writes(self) -> None:
        """Delete the temporary files of checkpoint writes that a killed run left behind (never ``*.pt``; rank 0)."""
        if idist.get_rank() != 0 or not self.save_dir.is_dir():
            return
        for partial in self.save_dir.glob("tmp*"):
            if partial.is_file() and partial.suffix != ".pt":
                self.logger.warning(f"resume: removing {partial}, a checkpoint write interrupted by a crash")
                partial.unlink(missing_ok=True)

    def __call__(self, engine: Engine) -> None:
        self._remove_partial_writes()
        path = latest_checkpoint(self.save_dir)
        engine.state.resumed_from = None if path is None else str(path)
        if path is None:
            self.logger.info(f"resume: no checkpoint in {self.save_dir}, starting from scratch")
            return
        max_epochs = engine.state.max_epochs
        load_checkpoint(path, training_objects(self.save_dict, engine), self.map_location)
        engine.state.max_epochs = max_epochs  # the configured length wins over the saved one
        self.logger.info(f"resumed from {path} at iteration {engine.state.iteration}")
