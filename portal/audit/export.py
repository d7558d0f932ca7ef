"""Export rows as CSV or JSON lines, one line at a time, for streaming responses and files."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

from portal.audit.selectors import EXPORT_COLUMNS

FORMATS = ("csv", "jsonl")
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}

# A cell starting with one of these is run as a formula by spreadsheet programs (CSV injection,
# OWASP); a leading apostrophe makes it text. Only the CSV is touched: JSON lines stay exact.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return "" if value is None else value


def csv_lines(rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def take() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(EXPORT_COLUMNS)
    yield take()
    for row in rows:
        writer.writerow([_cell(row[column]) for column in EXPORT_COLUMNS])
        yield take()


def jsonl_lines(rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    for row in rows:
        yield json.dumps(row, ensure_ascii=False) + "\n"


def export_lines(rows: Iterable[dict[str, Any]], fmt: str) -> Iterator[str]:
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    return csv_lines(rows) if fmt == "csv" else jsonl_lines(rows)
