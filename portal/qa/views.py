"""Asking and reading answers: the ask page, the come-back link, the source documents.

With JavaScript the page streams the answer from the API (``POST /api/v1/ask/stream``,
portal/qa/api.py): progress while the model writes, then the sentences once the answer is routed
to publication. Without JavaScript the page's form posts back here, the engine runs to the end
and the reader is sent to the answer's own link. Questions travel in request bodies only, never
in URLs, which end up in access logs and browser history. Views only parse input and render; the
engine (portal.qa.services) rate-limits, audits and answers.
"""

from __future__ import annotations

import uuid

from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from portal.accounts.roles import MANAGE_KNOWLEDGE
from portal.core.access import public, requires
from portal.core.clients import client_address
from portal.core.text_input import normalize_text
from portal.knowledge.models import Collection
from portal.knowledge.selectors import live_versions
from portal.qa.forms import ROLE_LABELS, RetrievalTestForm
from portal.qa.hit_test import hit_test_run
from portal.qa.selectors import (
    CHANGE_KINDS,
    answer_for_reader,
    answer_payload,
    answers_citing_changed_sources,
    citation_currency,
    citations_currency,
    collections_for_reader,
    source_document_for_reader,
    text_with_links,
)
from portal.qa.services import MAX_QUESTION_CHARS, Asker, RateLimited, answer_run

MAX_COLLECTIONS = 10


def _ask_page(request: HttpRequest, *, question: str = "", error: str = "", status: int = 200):
    context = {
        "max_chars": MAX_QUESTION_CHARS,
        "question": question,
        "error": error,
        # What the knowledge covers, for this reader: the first screen says what one can ask.
        "collections": collections_for_reader(user=request.user, language=get_language() or ""),
    }
    return render(request, "qa/ask.html", context, status=status)


@public
@require_http_methods(["GET", "POST"])
def ask(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        # A shared link may pre-fill the question; reading it never runs the engine (a GET must
        # not spend the model, and the question should not stay in the URL once asked).
        return _ask_page(request, question=request.GET.get("q", "")[:MAX_QUESTION_CHARS])
    question = normalize_text(request.POST.get("q", "")).strip()[:MAX_QUESTION_CHARS]
    if not question:
        return _ask_page(request, error=_("Please type a question."), status=400)
    collections = [c for c in request.POST.getlist("collection") if c][:MAX_COLLECTIONS]
    try:
        # No JavaScript: run to the end, then show the answer at its own link.
        outcome = answer_run(
            question=question, collections=collections, asker=Asker.of(request, via="page")
        )
    except RateLimited as exc:
        # The same words as the page's script shows for the API's 429.
        message = _(
            "Too many questions in a short time. Please try again in %(seconds)s seconds."
        ) % {"seconds": exc.retry_after_s}
        response = _ask_page(request, question=question, error=message, status=429)
        response["Retry-After"] = str(exc.retry_after_s)
        return response
    return redirect("qa:answer", public_id=outcome.answer.public_id)


@public
@require_GET
def answer(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    found = answer_for_reader(public_id=public_id, user=request.user)
    if found is None:
        raise Http404("No such answer.")
    payload = answer_payload(found, reader=request.user)
    citations = [c for c in found.citations.all() if c.label in payload["citations"]]
    # Sources that changed since the answer was written: a newer version, or withdrawn.
    currency = citations_currency(citations)
    for citation in citations:
        citation.currency = currency.get(citation.label)
    return render(
        request,
        "qa/answer.html",
        {
            "answer": found,
            "payload": payload,
            "citations": citations,
            "sources_changed": any(currency.values()),
            # A refusal's text with the closest sources it names linked (those the reader may
            # see; the others stay plain text, as they were written).
            "refusal_runs": text_with_links(found.guidance, payload["closest_sources"]),
            "max_chars": MAX_QUESTION_CHARS,
        },
    )


@public
@require_GET
def source_document(request: HttpRequest, document_id: int) -> HttpResponse:
    """The official document behind a citation: its versions and the original files. A
    withdrawn (deleted) document keeps this page, saying so, because old answers cite it."""
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
    # An uploaded file is someone else's content on the portal's origin: an HTML original with
    # a meta refresh or a script would run as the portal. So it is always a download, never
    # sniffed into something renderable, and sandboxed should a browser render it anyway.
    response = FileResponse(
        version.file.open("rb"),
        as_attachment=True,
        filename=version.original_filename,
        content_type="application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response


# --- The retrieval test (knowledge managers) --------------------------------------------------


@requires(MANAGE_KNOWLEDGE)
@require_http_methods(["GET", "POST"])
def retrieval_test(request: HttpRequest) -> HttpResponse:
    """What retrieval returns for a question asked as a chosen role, with each retriever's score
    and the relevance gate's reasons (portal/qa/hit_test.py). POST, like asking: it does work,
    and the question stays out of URLs. No answer is written."""
    form = RetrievalTestForm(request.POST or None)
    result, error, status, retry_after = None, "", 200, 0
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            result = hit_test_run(
                question=data["question"],
                role=data["role"],
                group=data["group"],
                collections=[c.slug for c in data["collections"]],
                tester=request.user,
                address=client_address(request),
            )
        except RateLimited as exc:
            retry_after, status = exc.retry_after_s, 429
            error = _(
                "Too many questions in a short time. Please try again in %(seconds)s seconds."
            ) % {"seconds": retry_after}
    elif request.method == "POST":
        status = 400
    response = render(
        request,
        "qa/retrieval_test.html",
        {"form": form, "result": result, "error": error, "roles": ROLE_LABELS},
        status=status,
    )
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


# --- Answers whose sources changed (knowledge managers) ---------------------------------------
CHANGED_PER_PAGE = 25


@requires(MANAGE_KNOWLEDGE)
@require_GET
def changed_sources(request: HttpRequest) -> HttpResponse:
    """Published answers citing a version that a newer one replaced, or a withdrawn document:
    one row per such citation, newest answers first, filtered by the kind of change and the
    collection; what an admin checks after publishing a new version or removing a document.
    Each source's state is decided by the rule the answer page's notices use."""
    change = request.GET.get("change", "")
    change = change if change in CHANGE_KINDS else ""
    slug = request.GET.get("collection", "")
    rows = answers_citing_changed_sources(change=change, collection_slug=slug)
    page = Paginator(rows, CHANGED_PER_PAGE).get_page(request.GET.get("page"))
    for citation in page:
        citation.currency = citation_currency(citation)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "qa/changed_sources.html",
        {
            "page": page,
            "change": change,
            "selected": slug,
            "collections": Collection.objects.order_by("name"),
            "query": query.urlencode(),
        },
    )
