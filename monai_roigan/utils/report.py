"""Markdown tables and CSV files for reports (standard library only)."""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from os import PathLike

__all__ = ["format_value", "markdown_table", "write_csv"]


def format_value(value, digits: int = 3) -> str:
    """A number with ``digits`` significant decimals (scientific below 1e-3), ``n/a`` for NaN or None, text as is."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int) or math.isinf(value):
        return str(value)
    if value != 0 and abs(value) < 10**-digits:
        return f"{value:.{digits - 1}e}"
    return f"{value:.{digits}f}"


def markdown_table(
    rows: Sequence[Mapping], columns: Sequence[str], headers: Sequence[str] | None = None, digits: int = 3
) -> str:
    """A GitHub-flavoured markdown table of ``rows`` (missing cells are empty)."""
    headers = list(headers or columns)
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for row in rows:
        lines.append("| " + " | ".join(format_value(row[c], digits) if c in row else "" for c in columns) + " |")
    return "\n".join(lines)


def write_csv(path: str | PathLike, rows: Sequence[Mapping], columns: Sequence[str] | None = None) -> None:
    """Write ``rows`` to ``path`` with a header; ``columns`` defaults to the union of keys in first-seen order."""
    if columns is None:
        columns = list(dict.fromkeys(k for row in rows for k in row))
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
