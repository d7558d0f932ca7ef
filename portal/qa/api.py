"""/api/v1/: ask (JSON and server-sent events), answer status and citations, collections.

This is the only HTTP surface for asking besides the ask page's form: the page's JavaScript
streams through ``POST /ask/stream`` like any other client. portal/api/api.py mounts the router.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Literal

from django.contrib.auth.models import Group
from django.http import HttpRequest, JsonResponse
from ninja import Field, Router, Schema
from ninja.errors import HttpError

from portal.accounts.roles import MANAGE_KNOWLEDGE
from portal.accounts.selectors import VIEWER_ROLES
from portal.core.api_auth import PUBLIC, Access
from portal.core.api_responses import Error, too_many_requests
from portal.core.clients import client_address
from portal.core.sse import async_event_stream_response, async_text_stream_response
from portal.core.text_input import NormalizedStr, normalize_text
from portal.knowledge.selectors import collections_visible_to
from portal.qa.chat import (
    MODEL_NAME,
    ChatRequestError,
    chat_question,
    completion,
    completion_chunks,
)
from portal.qa.hit_test import hit_test_run
from portal.qa.selectors import answer_for_reader, answer_payload
from portal.qa.services import MAX_QUESTION_CHARS, Asker, RateLimited, answer_run, answer_stream
from portal.qa.streaming import Busy, busy_response, gated_answer_stream

router = Router(tags=["answers"])


class AskIn(Schema):
    question: NormalizedStr = Field(min_length=1, max_length=MAX_QUESTION_CHARS)
    collections: list[str] = Field(default_factory=list, max_length=10)
    language: Literal["en", "zh"] | None = None


class SentenceOut(Schema):
    text: str
    citations: list[str]
    quoted: bool


class CitationOut(Schema):
    label: str
    document: str
    document_id: int | None
    collection: str
    version: int | None
    section: list[str]
    page: int | None
    effective_from: str | None
    quote: str


class ClosestSourceOut(Schema):
    document_id: int
    title: str


class AnswerOut(Schema):
    answer_id: str
    status: str
    refusal_reason: str | None
    language: str
    ai_generated: bool
    sentences: list[SentenceOut]
    text: str
    citations: dict[str, CitationOut]
    guidance: str
    # The documents a refusal names as the closest found (their page: /documents/{id}/).
    closest_sources: list[ClosestSourceOut] = []
    emergency_notice: str
    model_unavailable: bool  # the inference server did not answer: the text quotes passages
    # Citations left out because their collection is no longer visible to the caller; sentences
    # that only they supported are left out with them.
    sources_withheld: int = 0
    backend: str
    created_at: str


class CollectionOut(Schema):
    slug: str
    name: str
    description: str
    audience: str
    languages: list[str]


# 401, 422 and 429 are added to the schema by rule (portal/api/openapi.py).
@router.post("/ask", auth=PUBLIC, response={200: AnswerOut})
def ask(request: HttpRequest, body: AskIn):
    """Run the whole answer engine and return the stored answer (as ``GET /answers/{id}``)."""
    try:
        outcome = answer_run(
            question=body.question,
            collections=body.collections,
            language=body.language,
            asker=Asker.of(request, via="api"),
        )
    except RateLimited as exc:
        return too_many_requests(exc.retry_after_s)
    return answer_payload(outcome.answer)


_STREAM_DOC = {
    "responses": {
        200: {
            "description": "Server-sent events: queued (position, while waiting for a free "
            "generation slot), start, notice, progress (no text), then sentence events only "
            "once the answer is published, and done (status and citations); see "
            "portal/qa/engine/answer.py and portal/qa/streaming.py",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        }
    }
}


@router.post(
    "/ask/stream",
    auth=PUBLIC,
    response={200: None, 503: Error},
    openapi_extra=_STREAM_DOC,
)
async def ask_stream(request: HttpRequest, body: AskIn):
    """The same engine as ``/ask``, as events; sentences are released after routing. An async
    view: while every generation slot is taken the request waits without a thread, told its
    place; when the line is full it is refused with 503 and Retry-After."""

    events = await _gated_events(request, body, question=body.question, via="api-stream")
    if isinstance(events, JsonResponse):
        return events
    return async_event_stream_response(events)


async def _gated_events(
    request: HttpRequest, body, *, question: str, via: str
) -> AsyncIterator[dict] | JsonResponse:
    """The engine's events behind the generation gate, or the 429 / 503 that answers instead."""

    def start():
        return answer_stream(
            question=question,
            collections=body.collections,
            language=body.language,
            asker=Asker.of(request, via=via),
        )

    try:
        return await gated_answer_stream(start)
    except RateLimited as exc:
        return too_many_requests(exc.retry_after_s)
    except Busy as exc:
        return busy_response(exc)


# --- the OpenAI-compatible chat endpoint (portal/qa/chat.py) --------------------------------------


class ChatMessageIn(Schema):
    role: str
    content: str | list[dict] | None = None


class ChatCompletionIn(Schema):
    """The fields of the OpenAI chat-completions request this endpoint reads; others (model,
    temperature, ...) are accepted and ignored: the product decides how answers are written."""

    model: str = MODEL_NAME
    messages: list[ChatMessageIn] = Field(min_length=1, max_length=50)
    stream: bool = False
    collections: list[str] = Field(default_factory=list, max_length=10)  # extension
    language: Literal["en", "zh"] | None = None  # extension


@router.post(
    "/chat/completions",
    auth=PUBLIC,
    response={200: dict, 400: Error, 503: Error},
    openapi_extra={
        "responses": {
            200: {
                "description": "A chat.completion (stream false) or chat.completion.chunk "
                "server-sent events ending in [DONE] (stream true). The answer's text carries "
                "[n] markers; the top-level `citations` field lists the cited passages and "
                "`answer` the answer's id and status; see portal/qa/chat.py",
            }
        }
    },
)
async def chat_completions(request: HttpRequest, body: ChatCompletionIn):
    """Ask through the OpenAI chat-completions protocol (the official ``openai`` client with
    ``base_url=<portal>/api/v1``): the last user message is the question, answered by the same
    engine, guards, review routing and ask budget as ``/ask``."""
    try:
        question = chat_question([m.dict() for m in body.messages])
    except ChatRequestError as exc:
        return JsonResponse({"detail": str(exc)}, status=400)
    # Read from text or content parts: normalised here, as AskIn's question is by its schema.
    question = normalize_text(question).strip()[:MAX_QUESTION_CHARS]
    if not question:
        return JsonResponse({"detail": "the last user message has no text"}, status=400)

    events = await _gated_events(request, body, question=question, via="api-chat")
    if isinstance(events, JsonResponse):
        return events
    if body.stream:
        return async_text_stream_response(completion_chunks(events, model=MODEL_NAME))
    collected = [event async for event in events]
    return JsonResponse(
        completion(iter(collected), model=MODEL_NAME), json_dumps_params={"ensure_ascii": False}
    )


@router.get("/answers/{answer_id}", auth=PUBLIC, response={200: AnswerOut, 404: Error})
def answer_status(request: HttpRequest, answer_id: uuid.UUID):
    """Status (answered, held, refused, rejected) and, once published, sentences and citations."""
    found = answer_for_reader(public_id=answer_id, user=request.user)
    if found is None:
        raise HttpError(404, "no such answer")
    return answer_payload(found, reader=request.user)


@router.get("/collections", auth=PUBLIC, response=list[CollectionOut])
def collections(request: HttpRequest):
    """The collections the caller's questions are answered from (public ones for anonymous)."""
    return [
        {
            "slug": c.slug,
            "name": c.name,
            "description": c.description,
            "audience": c.audience,
            "languages": c.languages or [],
        }
        for c in collections_visible_to(request.user).order_by("name")
    ]


# --- The retrieval test (knowledge managers; the page is portal/qa/views.py retrieval_test) ------


class RetrievalTestIn(Schema):
    question: NormalizedStr = Field(min_length=1, max_length=MAX_QUESTION_CHARS)
    role: Literal[VIEWER_ROLES] = "citizen"  # type: ignore[valid-type]
    group: str | None = None  # the name of a group whose members' collections count too
    collections: list[str] = Field(default_factory=list, max_length=10)


class RetrieverRankOut(Schema):
    rank: int
    score: float


class GateOut(Schema):
    lexical: float
    dense: float
    coverage: float
    crosslingual: bool
    reason: str  # close_and_covered | covered_alone | crosslingual_close | not_close | ...
    document_passes: bool
    above_keep_floor: bool
    kept: bool


class HitOut(Schema):
    rank: int
    chunk_id: int
    score: float
    dense: RetrieverRankOut | None
    keyword: RetrieverRankOut | None
    document_id: int
    document: str
    collection: str
    version: int
    section: list[str]
    page_start: int | None
    page_end: int | None
    language: str
    text: str
    gate: GateOut


class GuardOut(Schema):
    action: str
    refusal_reason: str | None


class RetrievalTestOut(Schema):
    question: str
    language: str
    role: str
    group: str | None
    collections: list[str]
    visible_collections: list[str]
    retriever: str
    k: int
    guard: GuardOut
    outcome: str  # passed | no_relevant | no_passages | guard_refused
    passed: bool
    thresholds: dict[str, float]
    passages: list[HitOut]


@router.post(
    "/retrieval-test",
    auth=Access(MANAGE_KNOWLEDGE),
    response={200: RetrievalTestOut, 404: Error},
)
def retrieval_test(request: HttpRequest, body: RetrievalTestIn):
    """The passages retrieval returns for ``question`` asked as ``role`` (in the engine's
    order), each retriever's rank and score, and the relevance gate's signals, thresholds and
    decision. Writes no answer and spends no ask budget (its own "retrieval_test" budget)."""
    group = None
    if body.group:
        group = Group.objects.filter(name=body.group).first()
        if group is None:
            raise HttpError(404, "no such group")
    try:
        result = hit_test_run(
            question=body.question,
            role=body.role,
            group=group,
            collections=body.collections,
            tester=request.user,
            address=client_address(request),
        )
    except RateLimited as exc:
        return too_many_requests(exc.retry_after_s)
    return result.as_dict()
