"""Progress of the long loops: phantom, ROI preparation, DICOM crawl, evaluation and the downstream experiment.

:func:`progress` wraps a plain loop: on a terminal (``sys.stderr.isatty()``) it shows a ``tqdm`` bar, elsewhere
(a log file, a batch job, a bundle run piped to a file) it logs a line through ``logger`` at the start, about
every 10% of the items and at the end. Both are shown only while ``logger`` is enabled for INFO, so the level
of the ``monai_roigan`` logger (standard :mod:`logging`) turns them on and off, as it does every other line of
the package. Ignite engines already have :class:`ignite.handlers.ProgressBar`; this is for the loops
that are not engines.

The training engines follow the same rule: :func:`engine_progress_bar` is ignite's bar on a terminal and nothing
elsewhere, where the INFO lines of MONAI's ``StatsHandler`` every ``log_interval`` iterations (:func:`every`)
are the progress.
"""

from __future__ import annotations

import contextlib
import logging
import math
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from monai.utils import optional_import

tqdm, has_tqdm = optional_import("tqdm", name="tqdm")
logging_redirect_tqdm, has_redirect = optional_import("tqdm.contrib.logging", name="logging_redirect_tqdm")
ProgressBar, _ = optional_import("ignite.handlers", name="ProgressBar")
CallableEventWithFilter, _ = optional_import("ignite.engine.events", name="CallableEventWithFilter")

__all__ = ["PACKAGE_LOGGER", "engine_progress_bar", "every", "on_terminal", "progress"]

T = TypeVar("T")

#: the package's root logger; every module logs to a child ``monai_roigan.<area>``
PACKAGE_LOGGER = "monai_roigan"


def on_terminal() -> bool:
    """Whether progress goes to a terminal (``sys.stderr``, where ``tqdm`` draws): a bar there, log lines elsewhere."""
    try:
        return bool(sys.stderr.isatty())
    except (AttributeError, ValueError):  # no stderr, or a closed one
        return False


class _NoBar:
    """The handler :func:`engine_progress_bar` gives off a terminal: attaching it does nothing."""

    def attach(self, engine: Any, *args: Any, **kwargs: Any) -> None:
        return None


def engine_progress_bar(**kwargs: Any) -> Any:
    """ignite's :class:`~ignite.handlers.ProgressBar` (``kwargs``, e.g. ``persist=False``) for an engine's
    ``train_handlers`` on a terminal; elsewhere (a log file, a batch job) a handler that draws nothing, so a log
    holds no bar redrawn every iteration."""
    return ProgressBar(**kwargs) if on_terminal() else _NoBar()


def every(interval: int) -> Callable[[Any, int], bool]:
    """An ignite event filter true on every ``interval``-th event (iterations 20, 40, ... for ``interval=20``).

    For ``StatsHandler(iteration_log=...)``: MONAI reads an int there as "true", a line every iteration, and
    only a callable as a filter. (``TensorBoardStatsHandler`` takes the int itself as an interval.)
    """
    interval = int(interval)
    if interval < 1:
        raise ValueError(f"a log interval is a positive number of events, got {interval}")
    return CallableEventWithFilter.every_event_filter(interval)


def _console_logging_above_bar():
    """While a bar is drawn, console log lines are printed above it (``tqdm.write``) instead of through it; only
    when the root logger has a console handler, so that no output appears that logging would not have made."""
    consoles = [
        h
        for h in logging.getLogger().handlers
        if type(h) is logging.StreamHandler and h.stream in (sys.stdout, sys.stderr)
    ]
    return logging_redirect_tqdm() if has_redirect and consoles else contextlib.nullcontext()


def _length(iterable: Iterable, total: int | None) -> int | None:
    if total is not None:
        return int(total)
    try:
        return len(iterable)  # type: ignore[arg-type]
    except TypeError:
        return None


def progress(
    iterable: Iterable[T],
    desc: str,
    total: int | None = None,
    logger: logging.Logger | None = None,
    unit: str = "it",
    log_every: float = 0.1,
    log_interval_s: float = 30.0,
) -> Iterator[T]:
    """Yield the items of ``iterable`` and report how far the loop got.

    On a terminal this is a ``tqdm`` bar on stderr; otherwise ``logger`` gets an INFO line
    ``"<desc>: 0/<total> <unit>"`` at the start, ``"<desc>: k/<total> <unit> (p%), t s"`` each time another
    ``log_every`` of the items is done, and ``"<desc>: done, n <unit> in t s"`` at the end (also after a bar).
    Without a known total (no ``total``, no ``len``), a line every ``log_interval_s`` seconds replaces the
    percentages. Nothing is shown while ``logger`` is not enabled for INFO. A loop left early (``break``, an
    exception) logs no "done" line.

    Args:
        iterable: the loop's items.
        desc: what the loop does, e.g. ``"phantom images"``; starts every line.
        total: the number of items, when ``iterable`` has no ``len``.
        logger: where the lines go; default the ``monai_roigan`` logger.
        unit: what an item is, e.g. ``"images"``.
        log_every: the share of the items between two log lines (0.1: about ten lines).
        log_interval_s: seconds between two log lines when the total is unknown.
    """
    logger = logger if logger is not None else logging.getLogger(PACKAGE_LOGGER)
    total = _length(iterable, total)
    if not logger.isEnabledFor(logging.INFO):
        yield from iterable
        return
    start, count = time.perf_counter(), 0
    if has_tqdm and on_terminal():
        bar = tqdm(iterable, desc=desc, total=total, unit=unit, file=sys.stderr, dynamic_ncols=True)
        with _console_logging_above_bar(), bar:
            for item in bar:
                yield item
                count += 1
    else:
        count = yield from _logged(iterable, desc, total, logger, unit, log_every, log_interval_s, start)
    logger.info("%s: done, %d %s in %.1f s", desc, count, unit, time.perf_counter() - start)


def _logged(
    iterable: Iterable[T],
    desc: str,
    total: int | None,
    logger: logging.Logger,
    unit: str,
    log_every: float,
    log_interval_s: float,
    start: float,
):
    """The log-line form of :func:`progress`; returns the number of items yielded."""
    logger.info("%s: 0/%s %s", desc, "?" if total is None else total, unit)
    step = max(1, math.ceil(total * log_every)) if total else None
    next_mark = step
    last_time = start
    count = 0
    for item in iterable:
        yield item
        count += 1
        now = time.perf_counter()
        if step is not None and count >= next_mark and count < total:
            logger.info("%s: %d/%d %s (%d%%), %.1f s", desc, count, total, unit, 100 * count // total, now - start)
            next_mark += step
        elif step is None and now - last_time >= log_interval_s:
            logger.info("%s: %d %s, %.1f s", desc, count, unit, now - start)
            last_time = now
    return count
