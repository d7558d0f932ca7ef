"""Asking and reading answers: the page, its live stream, and the come-back link.

The page works without JavaScript (the form posts back and the answer is rendered when done);
with JavaScript the same question streams over server-sent events: progress while the model
writes, then the sentences once the answer is routed to publication. Views only parse input and
render; the engine (portal.qa.services) rate-limits, audits and answers.
"""

from __future__ import annotations

import uuid

from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    JsonResponse,
)
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from portal.core.access import public
from portal.core.sse import event_stream_response
from portal.knowledge.selectors import live_versions
from portal.qa.selectors import answer_for_reader, answer_payload, source_document_for_reader
from portal.qa.services import (
    MAX_QUESTION_CHARS,
    Asker,
    RateLimited,
    answer_run,
    answer_stream,
)


def _question(request: HttpRequest) -> str:
    return request.GET.get("q", "").strip()[:MAX_QUESTION_CHARS]


def _collections(request: HttpRequest) -> list[str]:
    return [c for c in request.GET.getlist("collection") if c][:10]


def _too_many(exc: RateLimited) -> JsonResponse:
    response = JsonResponse({"error": str(exc), "retry_after_s": exc.retry_after_s}, status=429)
    response["Retry-After"] = str(exc.retry_after_s)
    return response


@public
@require_GET
def ask(request: HttpRequest) -> HttpResponse:
    question = _question(request)
    if question:
        # No JavaScript: run to the end, then show the answer at its own link.
        try:
            outcome = answer_run(
                question=question,
                collections=_collections(request),
                asker=Asker.of(request, via="page"),
            )
        except RateLimited as exc:
            return _too_many(exc)
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
def ask_api(request: HttpRequest) -> JsonResponse:
    question = _question(request)
    if not question:
        return JsonResponse({"error": "the q parameter is required"}, status=400)
    try:
        outcome = answer_run(
            question=question,
            collections=_collections(request),
            asker=Asker.of(request, via="page-api"),
        )
    except RateLimited as exc:
        return _too_many(exc)
    return JsonResponse(answer_payload(outcome.answer), json_dumps_params={"ensure_ascii": False})


@public
@require_GET
def ask_stream(request: HttpRequest) -> HttpResponse:
    question = _question(request)
    if not question:
        return JsonResponse({"error": "the q parameter is required"}, status=400)
    try:
        events = answer_stream(
            question=question,
            collections=_collections(request),
            asker=Asker.of(request, via="page-stream"),
        )
    except RateLimited as exc:
        return _too_many(exc)
    return event_stream_response(events)


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
