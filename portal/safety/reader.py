"""The guard's English harm reader: a fine-tuned small encoder for veiled harmful requests.

The harm head (learned.py) and its hidden-state cascade (hidden.py) miss harmful English
requests written to look harmless (polite, hypothetical, professional, fictional frames) about
one time in four on a set written after they were fitted; neither more rows of the same kind
nor a wider cascade band caught them (docs/evaluation.md, sessions 24 and 25). The reader is an
encoder whose layers were tuned on the decision (ingestion/reader.py; fitted by
``manage.py harm_reader_fit``). It reads only English questions (its base model reads English
only) that the harm head scores at or above ``SAFETY_HARM_READER_FLOOR``, so everyday questions
never pay for it, and it can only add a refusal: a question it scores at or above its threshold
is refused as unsafe whatever the other heads said.

The reader directory names its base weights' SHA-256; with other base weights configured the
reader is off (logged once) and the other heads decide alone.
"""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path

from django.conf import settings

from ingestion.reader import TextReader, packaged_base, reader_load

logger = logging.getLogger(__name__)

HARM_READER_DIR = Path(__file__).resolve().parent / "data" / "harm_reader"


def harm_reader() -> TextReader | None:
    """The configured reader, or None when it is off, missing, or made for other base weights."""
    if not settings.SAFETY_HARM_READER:
        return None
    directory = Path(settings.SAFETY_HARM_READER_PATH or HARM_READER_DIR)
    try:
        base = Path(settings.SAFETY_HARM_READER_BASE) if settings.SAFETY_HARM_READER_BASE else (
            packaged_base()
        )  # fmt: skip
        return reader_load(str(directory), str(base))
    except (OSError, ValueError, ImportError) as exc:
        _warn_once(f"harm reader off: {exc}")
        return None


@cache
def _warn_once(message: str) -> None:
    logger.warning("%s", message)


def reader_threshold(reader: TextReader) -> float:
    if settings.SAFETY_HARM_READER_THRESHOLD is not None:
        return settings.SAFETY_HARM_READER_THRESHOLD
    return reader.meta.threshold


def reads(harm: float, language: str) -> TextReader | None:
    """The reader, when it should read a question of this language and harm-head score."""
    if harm < settings.SAFETY_HARM_READER_FLOOR:
        return None
    reader = harm_reader()
    if reader is None or language not in reader.meta.languages:
        return None
    return reader
