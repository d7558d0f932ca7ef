"""Load what the first answer would otherwise wait for: the embedder, the indexes, the agency
table's topic vectors (the first refusal), the personal-data recognizer (spaCy, ~6 s) and the
generation model. Serving processes call it once at start (gunicorn's post_worker_init, the dev
server through ANSWER_WARMUP), so no citizen pays for it."""

from __future__ import annotations

import logging
import time

from django.conf import settings

from ingestion.embedding import load_embedder
from portal.knowledge.indexing import keyword_index_loaded
from portal.qa.agencies import agencies_warm
from portal.qa.backends import generation_backend
from portal.safety.services import input_check

logger = logging.getLogger(__name__)


def warm_up() -> dict[str, float]:
    timings: dict[str, float] = {}
    for name, step in (
        ("embedder", lambda: load_embedder(settings.EMBEDDING_MODEL).embed(["warm up"])),
        ("keyword_index", keyword_index_loaded),
        ("agencies", agencies_warm),
        ("guard", lambda: input_check("Warm-up question from John Smith about benefits.")),
        ("model", generation_backend),
    ):
        started = time.perf_counter()
        try:
            step()
        except Exception:  # a cold part must not stop the server: the first answer retries it
            logger.exception("warm-up of %s failed", name)
        timings[name] = round(time.perf_counter() - started, 3)
    logger.info("answer pipeline warmed up: %s", timings)
    return timings
