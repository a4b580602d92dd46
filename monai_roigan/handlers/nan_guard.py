"""Stop training on a non-finite loss before anything saves the broken state."""

from __future__ import annotations

import math
from collections.abc import Sequence

from ignite.engine import Engine, Events
from monai.engines import IterationEvents

from monai_roigan.handlers.checkpoint import latest_checkpoint

__all__ = ["NonFiniteLossError", "NonFiniteGuard"]


class NonFiniteLossError(FloatingPointError):
    """A loss became NaN or infinite; the message names the iteration and the last good checkpoint."""


class NonFiniteGuard:
    """Raise :class:`NonFiniteLossError` when any of ``keys`` in the iteration output is NaN or inf.

    On a MONAI workflow (``ROIGanTrainer``) it checks at ``IterationEvents.MODEL_COMPLETED``, which the trainer
    fires at the end of each iteration before any ``ITERATION_COMPLETED`` handler runs: the guard raises before a
    checkpoint of the broken networks can be written, whatever order the handlers were attached in, and the newest
    ``checkpoint_*.pt`` stays the last good one. On a plain Ignite engine it checks at ``ITERATION_COMPLETED``.

    Args:
        keys: scalar output keys to check.
        checkpoint_dir: named in the message, where the last good checkpoint is.
    """

    def __init__(self, keys: Sequence[str] = ("g_loss", "d_loss"), checkpoint_dir: str | None = None):
        self.keys, self.checkpoint_dir = tuple(keys), checkpoint_dir

    def attach(self, engine: Engine) -> None:
        model_completed = engine.has_registered_events(IterationEvents.MODEL_COMPLETED)
        engine.add_event_handler(
            IterationEvents.MODEL_COMPLETED if model_completed else Events.ITERATION_COMPLETED, self
        )

    def __call__(self, engine: Engine) -> None:
        output = engine.state.output
        bad = {k: output[k] for k in self.keys if k in output and not math.isfinite(float(output[k]))}
        if bad:
            last = latest_checkpoint(self.checkpoint_dir) if self.checkpoint_dir else None
            raise NonFiniteLossError(
                f"non-finite loss at iteration {engine.state.iteration} (epoch {engine.state.epoch}): {bad}; "
                f"training stopped, last good checkpoint: {last or 'none written yet'}. "
                "Lower the learning rates, enable r1_gamma, or resume from that checkpoint."
            )
