"""The tissue in-filler's women: whose normal tissue ``bundle/configs/counterpart.json`` trains on, and its record.

The counterpart arms of the downstream experiment give a classifier [ROI, residual], the residual being the ROI minus
what the in-filler predicts for its centre. An in-filler predicts the tissue it learned better than new tissue, so
the residuals of its own training women are smaller than those of any test woman. A classifier that trains on
those women's normal tissue would learn "small residual, normal", which holds for no test woman.

So the in-filler learns the normal tissue of some women and the counterpart arms' classifiers the normal tissue of
the others:

- :func:`counterpart_women`: a seeded ``fraction`` of the training women who have normal-tissue ROIs
  (:func:`~monai_roigan.data.splits.held_out_normal_groups` makes the draw). The in-filler never sees a lesion ROI
  nor a mammogram with a lesion; a woman with a lesion in one breast may lend it her other, normal breast, and her
  lesion ROIs stay in the classifiers' training data (leaving them out would cost the rare classes a share of their
  few ROIs).
- :func:`counterpart_datalist`: the normal-tissue items of those women, the in-filler's training data. It writes the
  record :func:`women_record_path` next to the model file, ``{"women": [...]}`` (sorted strings).
- :func:`load_counterpart_women`: the downstream reads the record, refuses an in-filler that saw a held-out woman,
  and trains the counterpart arms' classifiers without the recorded women's normal-tissue ROIs.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from os import PathLike
from pathlib import Path

from monai_roigan.data.splits import held_out_normal_groups
from monai_roigan.utils.atomic import atomic_write
from monai_roigan.utils.errors import ConfigurationError

__all__ = ["counterpart_datalist", "counterpart_women", "load_counterpart_women", "women_record_path"]

logger = logging.getLogger("monai_roigan.counterpart")


def women_record_path(model_path: str | PathLike) -> Path:
    """The record of an in-filler's training women: ``<model>.women.json`` beside ``model_path``."""
    path = Path(model_path)
    return path.with_name(f"{path.stem}.women.json")


def counterpart_women(items: Sequence[dict], num_classes: int, fraction: float, seed: int = 0) -> list[str]:
    """The women (sorted ``group`` strings) whose normal tissue the in-filler learns: ``round(fraction * n)`` of the
    ``n`` women of ``items`` (``train.json``'s ``tissue_datalist``: labels 0..K-1 lesions, K normal tissue) who have
    normal-tissue ROIs, drawn with ``seed``.

    Raises:
        ConfigurationError: ``fraction`` outside (0, 1], or no woman drawn (too few women with normal tissue).
    """
    if not 0.0 < fraction <= 1.0:
        raise ConfigurationError(f"counterpart_fraction must be in (0, 1], got {fraction}")
    normal = [str(i["group"]) for i in items if int(i["label"]) == num_classes]
    women = sorted(held_out_normal_groups(normal, [], [], fraction, seed))
    if not women:
        raise ConfigurationError(
            f"counterpart_fraction {fraction} draws no woman for the tissue in-filler from the training women with "
            f"normal tissue ({len(set(normal))}); raise it, or add normal mammograms"
        )
    return women


def counterpart_datalist(
    items: Sequence[dict],
    num_classes: int,
    fraction: float,
    seed: int = 0,
    record_for: str | PathLike | None = None,
) -> list[dict]:
    """The in-filler's training items: the normal-tissue items (label ``num_classes``) of :func:`counterpart_women`.

    ``record_for``: the in-filler's model file; the women are written (atomically) to its
    :func:`women_record_path` when the list is built, before training starts. A record newer than its model
    (a training that did not finish) is refused when read (:func:`load_counterpart_women`).
    """
    women = counterpart_women(items, num_classes, fraction, seed)
    if record_for is not None:
        text = json.dumps({"women": women}, indent=1) + "\n"
        atomic_write(women_record_path(record_for), lambda tmp: Path(tmp).write_text(text))
    chosen = set(women)
    kept = [i for i in items if int(i["label"]) == num_classes and str(i["group"]) in chosen]
    logger.info("tissue in-filler: %d normal-tissue ROIs of %d training women", len(kept), len(women))
    return kept


def load_counterpart_women(model_path: str | PathLike) -> list[str]:
    """The women an in-filler learned from, read from its record (:func:`women_record_path`).

    Raises:
        ConfigurationError: no record beside the model, a record written after the model (the record of a later
            training that did not finish: the model may have learned other women), or one that is not
            ``{"women": [strings]}``; naming the file.
    """
    path = women_record_path(model_path)
    if not path.is_file():
        raise ConfigurationError(
            f"{path}: no record of the women the tissue in-filler {model_path} learned from; train it with "
            "bundle/configs/counterpart.json, or pass counterpart_women (an empty list for an in-filler trained on "
            "other women than the experiment's)"
        )
    if Path(model_path).is_file() and path.stat().st_mtime > Path(model_path).stat().st_mtime:
        raise ConfigurationError(
            f"{path}: written after {model_path}, by a later training that has not finished; the model may have "
            "learned other women: train the in-filler to the end"
        )
    try:
        women = json.loads(path.read_text())["women"]
    except (ValueError, KeyError, TypeError) as err:
        raise ConfigurationError(f"{path}: not a record of women ({{'women': [...]}}): {err}") from None
    if not isinstance(women, list) or not all(isinstance(w, str) for w in women):
        raise ConfigurationError(f"{path}: 'women' must be a list of strings")
    return women
