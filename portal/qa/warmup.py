"""Load what the first answer would otherwise wait for: the embedder, the indexes, the agency
table's topic vectors (the first refusal), the personal-data recognizer (spaCy, ~6 s), the
English harm reader (~2 s) and the generation model, and the fixed start of every answer prompt
(system rules and one-shot example) in each of the inference server's slots. Serving processes
call it once at start (gunicorn's post_worker_init, the dev server through ANSWER_WARMUP), so no
citizen pays for it."""

from __future__ import annotations

import logging
import time

from django.conf import settings

from ingestion.embedding import load_embedder
from llm_backend.base import GenerationRequest
from llm_backend.server import is_loopback
from portal.knowledge.indexing import keyword_index_loaded
from portal.qa.agencies import agencies_warm
from portal.qa.backends import generation_backend
from portal.qa.prompts import build_prompt
from portal.safety.reader import harm_reader
from portal.safety.services import input_check

logger = logging.getLogger(__name__)


def warm_up() -> dict[str, float]:
    timings: dict[str, float] = {}
    for name, step in (
        ("embedder", lambda: load_embedder(settings.EMBEDDING_MODEL).embed(["warm up"])),
        ("keyword_index", keyword_index_loaded),
        ("agencies", agencies_warm),
        ("guard", lambda: input_check("Warm-up question from John Smith about benefits.")),
        ("harm_reader", _harm_reader_warm),
        ("model", generation_backend),
        ("prompt_prefix", prompt_prefix_warm),
    ):
        started = time.perf_counter()
        try:
            step()
        except Exception:  # a cold part must not stop the server: the first answer retries it
            logger.exception("warm-up of %s failed", name)
        timings[name] = round(time.perf_counter() - started, 3)
    logger.info("answer pipeline warmed up: %s", timings)
    return timings


def _harm_reader_warm() -> None:
    reader = harm_reader()
    if reader is not None:
        reader.scores(["warm up"])


def prompt_prefix_warm() -> int:
    """Evaluate the prompt's fixed prefix ahead of the first questions; returns the slots filled.

    llama.cpp keeps a slot's evaluated prompt and reuses its longest common prefix, so after one
    answer a slot holds the system rules and the one-shot example (about half of the prompt) and
    the next answer prefills only its passages and question. Until then each slot is cold: on
    two cores a cold first answer waits about a second longer for its first token (docs/
    evaluation.md, "Serving"). A local llama-server gets one warm request per slot, the
    languages alternating (a slot holds one prefix at a time, and the server routes a prompt to
    the slot whose cached prompt it shares most with); an in-process model, one context, gets
    the default language. Other backends (a remote server, the extractive one) are left alone.
    """
    backend = generation_backend()
    if backend.kind == "llamacpp":
        slots = 1
    elif (
        backend.kind == "openai"
        and settings.LLM_SERVER_START
        and is_loopback(settings.LLM_OPENAI_BASE_URL)
    ):
        slots = settings.LLM_SERVER_SLOTS
    else:
        return 0
    first = "zh" if settings.LANGUAGE_CODE.startswith("zh") else "en"
    languages = [first, "zh" if first == "en" else "en"]
    for slot in range(slots):
        language = languages[slot % 2]
        prompt = build_prompt(
            question="", passages=[], language=language, max_sentences=settings.ANSWER_MAX_SENTENCES
        )
        backend.warm(
            GenerationRequest(messages=prompt.messages, max_tokens=1, language=language),
            slot=slot if slots > 1 else None,
        )
    return slots
