"""Asking and reading answers: the page, its live stream, and the come-back link.

The page works without JavaScript (the form posts back and the answer is rendered when done);
with JavaScript the same question streams over server-sent events, one verified sentence at a
time. Views only parse input and render: the pipeline lives in portal.qa.pipeline.
"""

from __future__ import annotations

import json
import uuid

from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from portal.audit.services import audit_record
from portal.core.access import public
from portal.core.ratelimit import rate_limited
from portal.knowledge.selectors import live_versions
from portal.qa.pipeline import MAX_QUESTION_CHARS, answer_run, answer_stream
from portal.qa.selectors import answer_for_reader, answer_payload, source_document_for_reader


def _question(request: HttpRequest) -> str:
    return request.GET.get("q", "").strip()[:MAX_QUESTION_CHARS]


def _collections(request: HttpRequest) -> list[str]:
    return [c for c in request.GET.getlist("collection") if c][:10]


@public
@require_GET
def ask(request: HttpRequest) -> HttpResponse:
    question = _question(request)
    if question:
        # No JavaScript: run to the end, then show the answer at its own link.
        outcome = answer_run(
            question=question, user=request.user, collections=_collections(request)
        )
        _audit(request, outcome.answer)
        return redirect("qa:answer", public_id=outcome.answer.public_id)
    return render(request, "qa/ask.html", {"max_chars": MAX_QUESTION_CHARS})


@public
@require_GET
def answer(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    found = answer_for_reader(public_id=public_id, user=request.user)
    if found is None:
        raise Http404("No such answer.")
    return render(
        request,
        "qa/answer.html",
        {"answer": found, "payload": answer_payload(found), "max_chars": MAX_QUESTION_CHARS},
    )


@public
@require_GET
def answer_api(request: HttpRequest, public_id: uuid.UUID) -> JsonResponse:
    found = answer_for_reader(public_id=public_id, user=request.user)
    if found is None:
        return JsonResponse({"error": "no such answer"}, status=404)
    return JsonResponse(answer_payload(found), json_dumps_params={"ensure_ascii": False})


@public
@require_GET
@rate_limited("ask")
def ask_api(request: HttpRequest) -> JsonResponse:
    question = _question(request)
    if not question:
        return JsonResponse({"error": "the q parameter is required"}, status=400)
    outcome = answer_run(question=question, user=request.user, collections=_collections(request))
    _audit(request, outcome.answer)
    return JsonResponse(answer_payload(outcome.answer), json_dumps_params={"ensure_ascii": False})


@public
@require_GET
@rate_limited("ask")
def ask_stream(request: HttpRequest) -> HttpResponse:
    question = _question(request)
    if not question:
        return JsonResponse({"error": "the q parameter is required"}, status=400)
    events = answer_stream(question=question, user=request.user, collections=_collections(request))

    def sse():
        for event in events:
            if event["event"] == "done":
                _audit_done(request, event)
            yield f"event: {event['event']}\ndata: {json.dumps(event, ensure_ascii=False)}\n\n"

    response = StreamingHttpResponse(sse(), content_type="text/event-stream; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event through at once
    return response


def _audit(request: HttpRequest, answer) -> None:
    audit_record(
        request=request,
        action="qa.ask",
        object_type="answer",
        object_id=answer.pk,
        detail={"status": answer.status, "reason": answer.refusal_reason},
    )


def _audit_done(request: HttpRequest, event: dict) -> None:
    audit_record(
        request=request,
        action="qa.ask",
        object_type="answer",
        object_id=event["answer_id"],
        detail={"status": event["status"], "reason": event["refusal_reason"] or ""},
    )


@public
@require_GET
def source_document(request: HttpRequest, document_id: int) -> HttpResponse:
    """The official document behind a citation: its versions and the original files."""
    document = source_document_for_reader(document_id=document_id, user=request.user)
    if document is None:
        raise Http404("No such document.")
    versions = document.versions.filter(status="done").order_by("-number")
    live = set(live_versions().filter(document=document).values_list("pk", flat=True))
    return render(
        request,
        "qa/document.html",
        {"document": document, "versions": versions, "live": live},
    )


@public
@require_GET
def source_file(request: HttpRequest, document_id: int, number: int) -> FileResponse:
    document = source_document_for_reader(document_id=document_id, user=request.user)
    version = document.versions.filter(number=number, status="done").first() if document else None
    if version is None:
        raise Http404("No such document version.")
    return FileResponse(
        version.file.open("rb"),
        as_attachment=False,
        filename=version.original_filename,
        content_type=version.media_type or "application/octet-stream",
    )
