"""Atomic training checkpoints with RNG states, keeping the last k, and resuming from the latest.

:class:`GanCheckpointer` saves, every ``save_interval`` iterations and at the end of training, one file
``checkpoint_<iteration>.pt`` holding the state dicts of everything in ``save_dict`` (generator,
discriminator, both optimizers, EMA generator, the trainer's epoch/iteration) and :class:`RNGStates`
(Python, NumPy, torch, CUDA and the trainer's own generator). Files are written by Ignite's
:class:`~ignite.handlers.DiskSaver` with ``atomic=True``: serialised to a temporary file in the same folder,
then renamed, so a crash mid-write never leaves a ``checkpoint_*.pt`` that is partial. Only the last
``n_saved`` are kept. :meth:`GanCheckpointer.save_best`, called by a scoring handler such as
:class:`~monai_roigan.handlers.GeneratorQuality`, keeps the ``n_best`` highest-scoring checkpoints as
``best_checkpoint_<iteration>_<score_name>=<score>.pt``; a resumed run reads the scores back from those
file names, so it keeps comparing against (and eventually removes) the earlier best.

With ``resume=True`` the temporary files of writes interrupted by a crash are deleted and the latest
``checkpoint_*.pt`` is loaded when training starts (``torch.load`` with
``weights_only=True``: a pickle carrying code is refused) and the iteration count continues from it.
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

from monai_roigan.utils.errors import CheckpointError
from monai_roigan.utils.safe_load import load_state_file

__all__ = ["RNGStates", "GanCheckpointer", "latest_checkpoint", "load_checkpoint"]

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
            "numpy": {"name": name, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                      "has_gauss": int(has_gauss), "cached": float(cached)},  # fmt: skip
            "python": {"version": int(version), "words": torch.tensor(words, dtype=torch.int64),
                       "gauss": gauss},  # fmt: skip
            "generators": {k: g.get_state() for k, g in self.generators.items()},
        }
        if torch.cuda.is_available():
            state["cuda"] = torch.cuda.get_rng_state_all()
        return state

    def load_state_dict(self, state: dict) -> None:
        # a checkpoint loaded with map_location="cuda" has its RNG byte tensors on the GPU; RNGs need them on the CPU
        torch.set_rng_state(state["torch"].cpu())
        n = state["numpy"]
        np.random.set_state((n["name"], n["keys"].cpu().numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))
        p = state["python"]
        random.setstate((p["version"], tuple(int(w) for w in p["words"].cpu()), p["gauss"]))
        for key, value in state["generators"].items():
            if key in self.generators:
                self.generators[key].set_state(value.cpu())
        if "cuda" in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])


def latest_checkpoint(folder: str | PathLike) -> Path | None:
    """The complete ``checkpoint_<iteration>.pt`` with the highest iteration in ``folder``, or None."""
    folder = Path(folder)
    if not folder.is_dir():
        return None
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _PATTERN.match(p.name)) and p.is_file()]
    return max(found)[1] if found else None


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
        raise CheckpointError(path, f"does not fit the configured networks and optimizers ({err})") from None


class GanCheckpointer:
    """Save atomic checkpoints during training and resume from the latest one.

    Args:
        save_dir: checkpoint folder (created).
        save_dict: objects with ``state_dict``/``load_state_dict`` to save, e.g.
            ``{"generator": G, "discriminator": D, "g_opt": ..., "d_opt": ..., "ema": ..., "trainer": trainer}``.
        save_interval: save every this many iterations (0: only at the end).
        n_saved: how many recent checkpoints to keep.
        resume: load the latest checkpoint of ``save_dir`` when training starts.
        map_location: device for loading.
        n_best: how many best-scoring checkpoints :meth:`save_best` keeps (0 disables it).
        score_name: name of the score in the best checkpoints' file names.
    """

    def __init__(
        self,
        save_dir: str | PathLike,
        save_dict: Mapping,
        save_interval: int = 200,
        n_saved: int = 3,
        resume: bool = False,
        map_location="cpu",
        n_best: int = 1,
        score_name: str = "quality",
    ):
        self.save_dir = Path(save_dir)
        self.save_dict = dict(save_dict)
        self.save_interval, self.resume, self.map_location = int(save_interval), resume, map_location
        self.saver = DiskSaver(str(self.save_dir), atomic=True, require_empty=False, create_dir=True)
        self.n_saved, self.n_best, self.score_name = n_saved, int(n_best), score_name
        self.best: Checkpoint | None = None
        self._score = float("-inf")
        self.logger = logging.getLogger("monai_roigan.checkpoint")

    def _checkpoint(self, engine: Engine) -> Checkpoint:
        to_save = dict(self.save_dict)
        to_save.setdefault("trainer", engine)
        to_save.setdefault("rng", RNGStates({"trainer": engine.rng} if hasattr(engine, "rng") else {}))
        step = lambda e, _: e.state.iteration  # noqa: E731
        if self.n_best > 0:
            self.best = Checkpoint(
                dict(to_save), self.saver, filename_prefix="best", n_saved=self.n_best, global_step_transform=step,
                score_function=lambda _: self._score, score_name=self.score_name,
            )  # fmt: skip
        return Checkpoint(to_save, self.saver, filename_prefix="", n_saved=self.n_saved, global_step_transform=step)

    def save_best(self, engine: Engine, score: float) -> None:
        """Save a ``best_checkpoint_*`` if ``score`` (higher is better) ranks among the ``n_best`` so far."""
        if self.best is None:
            raise RuntimeError("save_best needs an attached GanCheckpointer with n_best > 0")
        self._score = float(score)
        self.best(engine)

    def attach(self, engine: Engine) -> None:
        checkpoint = self._checkpoint(engine)
        self.to_load = checkpoint.to_save
        if self.resume:
            engine.add_event_handler(Events.STARTED, self.load_latest)
        if self.save_interval > 0:
            engine.add_event_handler(Events.ITERATION_COMPLETED(every=self.save_interval), checkpoint)
        engine.add_event_handler(Events.COMPLETED, checkpoint)

    def _reload_best(self) -> None:
        pattern = re.compile(rf"^best_checkpoint_\d+_{re.escape(self.score_name)}=(-?[\d.]+)\.pt$")
        found = sorted((float(m.group(1)), p.name) for p in self.save_dir.glob("best_*.pt") if (m := pattern.match(p.name)))
        self.best.load_state_dict({"_saved": found})

    def _remove_partial_writes(self) -> None:
        """Delete the temporary files of checkpoint writes that a killed run left behind (never ``*.pt``; rank 0)."""
        if idist.get_rank() != 0:
            return
        for partial in self.save_dir.glob("tmp*"):
            if partial.is_file() and partial.suffix != ".pt":
                self.logger.warning(f"resume: removing {partial}, a checkpoint write interrupted by a crash")
                partial.unlink(missing_ok=True)

    def load_latest(self, engine: Engine) -> None:
        self._remove_partial_writes()
        if self.best is not None:
            self._reload_best()
        path = latest_checkpoint(self.save_dir)
        if path is None:
            self.logger.info(f"resume: no checkpoint in {self.save_dir}, starting from scratch")
            return
        max_epochs = engine.state.max_epochs
        load_checkpoint(path, self.to_load, self.map_location)
        engine.state.max_epochs = max_epochs  # the configured length wins over the saved one
        self.logger.info(f"resumed from {path} at iteration {engine.state.iteration}")
