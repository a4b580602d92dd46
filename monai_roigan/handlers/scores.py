"""Publishing a score of the generator: into ``engine.state.metrics``, TensorBoard, and the ``SCORED`` event."""

from __future__ import annotations

from ignite.engine import Engine

from monai_roigan.engines.events import fire_scored

__all__ = ["publish_scores"]


def publish_scores(engine: Engine, scores: dict[str, float], tag: str, summary_writer=None, logged=None) -> None:
    """Put ``scores`` into ``engine.state.metrics``, write ``logged`` of them (default all) to TensorBoard as
    ``<tag>/<name>`` at the current iteration (when a ``summary_writer`` is given), then
    :func:`~monai_roigan.engines.fire_scored` with their names."""
    engine.state.metrics.update(scores)
    if summary_writer is not None:
        for name in logged or scores:
            summary_writer.add_scalar(f"{tag}/{name}", scores[name], engine.state.iteration)
    fire_scored(engine, scores)
