"""/api/v1/: ask (JSON and server-sent events), answer status and citations, collections."""

from __future__ import annotations

import uuid

from django.http import HttpRequest, JsonResponse
from ninja import Router
from ninja.errors import HttpError

from portal.api.auth import PUBLIC
from portal.api.schemas import AnswerOut, AskIn, CollectionOut, Error
from portal.core.sse import event_stream_response
from portal.knowledge.selectors import collections_visible_to
from portal.qa.selectors import answer_for_reader, answer_payload
from portal.qa.services import Asker, RateLimited, answer_run, answer_stream

router = Router(tags=["answers"])


def too_many(exc: RateLimited) -> JsonResponse:
    response = JsonResponse(
        {"detail": "too many requests", "retry_after_s": exc.retry_after_s}, status=429
    )
    response["Retry-After"] = str(exc.retry_after_s)
    return response


@router.post("/ask", auth=PUBLIC, response={200: AnswerOut, 429: Error})
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
        return too_many(exc)
    return answer_payload(outcome.answer)


@router.post(
    "/ask/stream",
    auth=PUBLIC,
    response={200: None, 429: Error},
    openapi_extra={
        "responses": {
            200: {
                "description": "Server-sent events: start, notice, progress (no text), then "
                "sentence events only once the answer is published, and done (status and "
                "citations); see portal/qa/engine/answer.py",
                "content": {"text/event-stream": {"schema": {"type": "string"}}},
            }
        }
    },
)
def ask_stream(request: HttpRequest, body: AskIn):
    """The same engine as ``/ask``, as events; sentences are released after routing."""
    try:
        events = answer_stream(
            question=body.question,
            collections=body.collections,
            language=body.language,
            asker=Asker.of(request, via="api-stream"),
        )
    except RateLimited as exc:
        return too_many(exc)
    return event_stream_response(events)


@router.get("/answers/{answer_id}", auth=PUBLIC, response={200: AnswerOut, 404: Error})
def answer_status(request: HttpRequest, answer_id: uuid.UUID):
    """Status (answered, held, refused, rejected) and, once published, sentences and citations."""
    found = answer_for_reader(public_id=answer_id, user=request.user)
    if found is None:
        raise HttpError(404, "no such answer")
    return answer_payload(found)


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
