"""/api/v1/: ask (JSON and server-sent events), answer status and citations, collections."""

from __future__ import annotations

import json
import uuid

from django.http import HttpRequest, StreamingHttpResponse
from ninja import Router
from ninja.errors import HttpError

from portal.api.auth import PUBLIC
from portal.api.limits import api_rate_limited
from portal.api.schemas import AnswerOut, AskIn, CollectionOut, Error
from portal.audit.services import audit_record
from portal.knowledge.selectors import collections_visible_to
from portal.qa.pipeline import answer_run, answer_stream
from portal.qa.selectors import answer_for_reader, answer_payload

router = Router(tags=["answers"])


@router.post("/ask", auth=PUBLIC, response={200: AnswerOut, 429: Error})
def ask(request: HttpRequest, body: AskIn):
    """Run the whole answer pipeline and return the stored answer (as ``GET /answers/{id}``)."""
    limited = api_rate_limited(request, "ask")
    if limited:
        return limited
    outcome = answer_run(
        question=body.question,
        user=request.user,
        collections=body.collections,
        language=body.language,
    )
    _audit_ask(request, outcome.answer.pk, outcome.status, outcome.refusal_reason)
    return answer_payload(outcome.answer)


@router.post(
    "/ask/stream",
    auth=PUBLIC,
    response={200: None, 429: Error},
    openapi_extra={
        "responses": {
            200: {
                "description": "Server-sent events: start, notice, sentence (verified only), "
                "done (status and citations); see portal/qa/pipeline.py",
                "content": {"text/event-stream": {"schema": {"type": "string"}}},
            }
        }
    },
)
def ask_stream(request: HttpRequest, body: AskIn):
    """The same pipeline as ``/ask``, one event per verified sentence as it is accepted."""
    limited = api_rate_limited(request, "ask")
    if limited:
        return limited
    events = answer_stream(
        question=body.question,
        user=request.user,
        collections=body.collections,
        language=body.language,
    )

    def sse():
        for event in events:
            if event["event"] == "done":
                # The Answer's primary key is not in the event; audit by its public id instead.
                _audit_ask(request, event["answer_id"], event["status"], event["refusal_reason"])
            yield f"event: {event['event']}\ndata: {json.dumps(event, ensure_ascii=False)}\n\n"

    response = StreamingHttpResponse(sse(), content_type="text/event-stream; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event through at once
    return response


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


def _audit_ask(request: HttpRequest, answer_ref, status: str, reason: str | None) -> None:
    audit_record(
        request=request,
        action="qa.ask",
        object_type="answer",
        object_id=answer_ref,
        detail={"status": status, "reason": reason or "", "via": "api"},
    )
