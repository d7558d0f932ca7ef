"""The answer pipeline. Until the answer issue lands it retrieves and shows passages only, and
says so: nothing on the page pretends to be a generated answer."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from django.conf import settings

from portal.knowledge.retrieval import Passage, passages_search

MAX_QUESTION_CHARS = 1000


@dataclass(frozen=True)
class AnswerResult:
    question: str
    mode: str  # "passages_only" until a generation backend is wired in
    passages: list[Passage] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


def answer_generate(*, question: str, user) -> AnswerResult:
    question = question.strip()[:MAX_QUESTION_CHARS]
    started = time.perf_counter()
    passages = passages_search(question=question, user=user, k=settings.SEARCH_TOP_K)
    timings = {"retrieve": round(time.perf_counter() - started, 4)}
    return AnswerResult(question=question, mode="passages_only", passages=passages, timings=timings)
