"""Events the GAN trainer fires besides Ignite's, so that handlers talk through the engine, not to each other.

- MONAI's ``IterationEvents.MODEL_COMPLETED``: fired at the end of every training iteration, after both
  networks were updated and ``engine.state.output`` was set, and before any ``ITERATION_COMPLETED`` handler runs
  (the NaN guard listens here, so it stops a broken run before any checkpoint handler sees it).
- :attr:`ScoreEvents.SCORED`: a handler wrote a fresh score of the generator into ``engine.state.metrics``
  (``GeneratorQuality`` and ``GeneratorRealism`` fire it through :func:`fire_scored`, which first names the fresh
  metrics in ``engine.state.scored``; the best-checkpoint saver listens and reads its score by name, only when it
  is among them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ignite.engine import Engine, EventEnum

__all__ = ["ScoreEvents", "ensure_score_events", "fire_scored", "scoring_due"]


class ScoreEvents(EventEnum):
    """``SCORED``: ``engine.state.metrics`` holds a fresh score of the generator at this iteration."""

    SCORED = "scored"


def ensure_score_events(engine: Engine) -> None:
    """Register :class:`ScoreEvents` on ``engine`` unless it has them (``ROIGanTrainer`` registers them itself)."""
    if not engine.has_registered_events(ScoreEvents.SCORED):
        engine.register_events(*ScoreEvents)


def fire_scored(engine: Engine, names: Iterable[str]) -> None:
    """Fire :attr:`ScoreEvents.SCORED` with ``engine.state.scored`` set to the metric ``names`` just written into
    ``engine.state.metrics`` (a listener that reads another metric knows it is not fresh)."""
    engine.state.scored = frozenset(names)
    try:
        engine.fire_event(ScoreEvents.SCORED)
    finally:
        engine.state.scored = None  # a SCORED fired without naming its metrics: every listener acts


def scoring_due(interval: int) -> Callable[[Engine, int], bool]:
    """An ``ITERATION_COMPLETED`` event filter: every ``interval`` iterations (0: never) and at the last iteration,
    so that every score exists before ``COMPLETED``."""

    def due(engine: Engine, iteration: int) -> bool:
        state = engine.state
        last = state.epoch_length is not None and iteration == state.epoch_length * state.max_epochs
        return last or (interval > 0 and iteration % interval == 0)

    return due
