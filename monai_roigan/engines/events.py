"""Events the GAN trainer fires besides Ignite's, so that handlers talk through the engine, not to each other.

- MONAI's ``IterationEvents.MODEL_COMPLETED``: fired at the end of every training iteration, after both
  networks were updated and ``engine.state.output`` was set, and before any ``ITERATION_COMPLETED`` handler runs
  (the NaN guard listens here, so it stops a broken run before any checkpoint handler sees it).
- :attr:`ScoreEvents.SCORED`: a handler wrote a fresh score of the generator into ``engine.state.metrics``
  (``GeneratorQuality`` fires it; the best-checkpoint saver listens and reads the score by name).
"""

from __future__ import annotations

from ignite.engine import Engine, EventEnum

__all__ = ["ScoreEvents", "ensure_score_events"]


class ScoreEvents(EventEnum):
    """``SCORED``: ``engine.state.metrics`` holds a fresh score of the generator at this iteration."""

    SCORED = "scored"


def ensure_score_events(engine: Engine) -> None:
    """Register :class:`ScoreEvents` on ``engine`` unless it has them (``ROIGanTrainer`` registers them itself)."""
    if not engine.has_registered_events(ScoreEvents.SCORED):
        engine.register_events(*ScoreEvents)
