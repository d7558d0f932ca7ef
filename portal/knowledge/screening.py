"""Planted-instruction screening as configured (ingestion/screening.py under the INGEST_* settings).

One entry point, ``screen``, for everything that screens document text: the chunk step of
ingestion, ``manage.py screen_planted`` and ``evaluate safety --prompts planted_sentences*``, so
what is measured is what ingestion runs.
"""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path

from django.conf import settings

from ingestion.screening import (
    PLANTED_HIDDEN_FILE,
    Cascade,
    PlantedSpan,
    planted_classifier,
    planted_spans,
)
from llm_backend.hidden import encoder_for, head_for_model

logger = logging.getLogger(__name__)


@cache
def _warn_once(message: str) -> None:
    logger.warning("%s", message)


def planted_cascade() -> Cascade | None:
    """The hidden-state second opinion, or None when it is off, not fitted, fitted on another
    model than INGEST_PLANTED_HIDDEN_MODEL, or that model cannot be loaded here."""
    if not settings.INGEST_PLANTED_HIDDEN or settings.INGEST_PLANTED_THRESHOLD is not None:
        return None
    model = Path(settings.INGEST_PLANTED_HIDDEN_MODEL)
    head, why = head_for_model(
        str(settings.INGEST_PLANTED_HIDDEN_PATH or PLANTED_HIDDEN_FILE), model
    )
    if head is None:
        _warn_once(f"planted cascade off: {why}")
        return None
    try:
        encoder = encoder_for(str(model), settings.INGEST_PLANTED_HIDDEN_THREADS)
    except (ImportError, ValueError, RuntimeError) as exc:
        _warn_once(f"planted cascade off: cannot load {model}: {exc}")
        return None
    return Cascade(head, encoder.encode)


def screen(text: str) -> list[PlantedSpan]:
    """The flagged sentences of ``text`` (none when INGEST_SCREEN_PLANTED is off)."""
    if not settings.INGEST_SCREEN_PLANTED:
        return []
    return planted_spans(
        text,
        classifier=planted_classifier(settings.INGEST_PLANTED_CLASSIFIER_PATH),
        threshold=settings.INGEST_PLANTED_THRESHOLD,
        cascade=planted_cascade(),
    )
