"""`manage.py benchmark generation`: how fast the configured model writes, against what the
machine allows, and how long a reader waits for the first verified sentence and the full answer.

Decode speed on a CPU is bound by memory bandwidth: every token reads all the weights once, so
``bandwidth / weight bytes`` is the ceiling. The report puts the measured decode speed next to it.
Latencies are measured through the whole pipeline (retrieve, prompt, generate, verify, guard) on the
demo knowledge base's questions, which are the product's development questions.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable
from pathlib import Path

from django.conf import settings

from llm_backend.base import GenerationRequest
from llm_backend.bench import (
    decode_bytes_per_token,
    decode_ceiling_tok_s,
    generation_benchmark,
    memory_bandwidth_gbs,
)
from portal.evaluation.metrics import percentile
from portal.knowledge.retrieval import passages_search
from portal.qa.backends import generation_backend
from portal.qa.prompts import build_prompt, language_of
from portal.qa.services import answer_run
from portal.qa.warmup import warm_up

DEMO_QUESTIONS = Path(settings.BASE_DIR) / "demo" / "knowledge" / "questions.json"
Progress = Callable[[str, int, int], None]


def demo_questions() -> list[str]:
    return [q["question"] for q in json.loads(DEMO_QUESTIONS.read_text(encoding="utf-8"))]


def _requests(questions: list[str], user) -> list[GenerationRequest]:
    """The prompts the pipeline would send for these questions (same template, same passages)."""
    requests = []
    for question in questions:
        found = passages_search(question=question, user=user, k=settings.ANSWER_PROMPT_PASSAGES)
        prompt = build_prompt(
            question=question,
            passages=[
                (str(i), p.document_title, p.text[: settings.ANSWER_PASSAGE_MAX_CHARS])
                for i, p in enumerate(found, start=1)
            ],
            language=language_of(question),
            max_sentences=settings.ANSWER_MAX_SENTENCES,
        )
        requests.append(
            GenerationRequest(messages=prompt.messages, max_tokens=settings.ANSWER_MAX_TOKENS)
        )
    return requests


def generation_benchmark_run(*, limit: int | None = None, progress: Progress | None = None) -> dict:
    from django.contrib.auth.models import AnonymousUser

    user = AnonymousUser()
    questions = demo_questions()[:limit] if limit else demo_questions()
    backend = generation_backend()
    report: dict = {
        "backend": backend.kind,
        "model_id": backend.model_id,
        "threads": getattr(backend, "n_threads", None),
        "threads_batch": getattr(backend, "n_threads_batch", None),
        "n_questions": len(questions),
    }
    model_path = settings.LLM_BACKEND_CONFIG.get("model_path")
    if backend.kind == "llamacpp" and model_path:
        # The machine's bandwidth with every core reading, whatever threads decode uses: a
        # one-thread figure would lower the ceiling and flatter the fraction.
        bandwidth = memory_bandwidth_gbs()
        per_token = decode_bytes_per_token(Path(model_path))
        report["memory_bandwidth_gbs"] = round(bandwidth, 2)
        report["weights_bytes_per_token"] = per_token
        report["decode_ceiling_tok_s"] = round(decode_ceiling_tok_s(per_token, bandwidth), 1)
    if backend.kind != "extractive":
        if progress:
            progress("raw generation", 0, len(questions))
        raw = generation_benchmark(backend, _requests(questions, user), warmup=1)
        report["prefill_tok_s"] = raw["prefill_tok_s"] and round(raw["prefill_tok_s"], 1)
        report["decode_tok_s"] = raw["decode_tok_s"] and round(raw["decode_tok_s"], 1)
        report["first_token_s_p50"] = raw["first_token_s_p50"]
        if report.get("decode_ceiling_tok_s") and raw["decode_tok_s"]:
            report["decode_fraction_of_ceiling"] = round(
                raw["decode_tok_s"] / report["decode_ceiling_tok_s"], 3
            )
    # Serving processes load the guard's recognizer, the indexes and the model before the first
    # question (portal.qa.warmup); without this the first timed answer paid ~4 s of spaCy loading
    # and the p95 measured a start-up no citizen sees.
    report["warmup_s"] = warm_up()
    first, total, statuses = [], [], []
    for n, question in enumerate(questions, start=1):
        outcome = answer_run(question=question, user=user)
        statuses.append(outcome.status)
        timings = outcome.answer.timings
        total.append(timings["total"])
        if "first_sentence" in timings:
            first.append(timings["first_sentence"])
        if progress:
            progress("answers", n, len(questions))
    report["first_verified_sentence_s_p50"] = round(percentile(first, 50), 3) if first else None
    report["first_verified_sentence_s_p95"] = round(percentile(first, 95), 3) if first else None
    report["answer_s_p50"] = round(percentile(total, 50), 3)
    report["answer_s_p95"] = round(percentile(total, 95), 3)
    report["answer_s_mean"] = round(statistics.fmean(total), 3)
    report["statuses"] = {s: statuses.count(s) for s in sorted(set(statuses))}
    return report
