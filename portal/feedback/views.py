"""Helpful / not-helpful feedback on an answer, from anyone who can read it; and the page where
reviewers and admins read it.

Anonymous readers may send feedback (citizens have no accounts), so the endpoint is public but
CSRF-protected like every form, and each reader has one revisable vote per answer. Writes are
rate limited per reader and per address like asking (portal.core.ratelimit, own "feedback"
budget keys), so a script cannot flood the table through fresh sessions.
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from portal.accounts.roles import REVIEW
from portal.core.access import public, requires
from portal.core.ratelimit import rate_limited
from portal.feedback.forms import FeedbackFilterForm, FeedbackForm
from portal.feedback.selectors import feedback_list
from portal.feedback.services import feedback_submit, reader_key
from portal.qa.selectors import answer_for_reader

PAGE_SIZE = 25


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@public
@require_POST
@rate_limited("feedback")
def submit(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    answer = answer_for_reader(public_id=public_id, user=request.user)
    if answer is None:
        raise Http404("No such answer.")
    form = FeedbackForm(request.POST)
    if not form.is_valid():
        if _wants_json(request):
            return JsonResponse({"ok": False, "errors": form.errors.get_json_data()}, status=400)
        messages.error(request, _("Please choose whether the answer was helpful."))
        return redirect("qa:answer", public_id=answer.public_id)
    feedback_submit(
        answer=answer,
        reader=reader_key(request),
        helpful=form.cleaned_data["helpful"],
        reason=form.cleaned_data["reason"],
        comment=form.cleaned_data["comment"],
        language=get_language() or "",
    )
    thanks = _("Thank you. Your feedback helps us improve the answers.")
    if _wants_json(request):
        return JsonResponse({"ok": True, "message": thanks})
    messages.success(request, thanks)
    return redirect("qa:answer", public_id=answer.public_id)


@requires(REVIEW)
@require_GET
def feedback_page(request: HttpRequest) -> HttpResponse:
    """What readers said about answers, newest first, for reviewers and admins: filter by
    verdict, reason and date; each row links to its answer (readable by reviewers)."""
    form = FeedbackFilterForm(request.GET or None)
    page = Paginator(feedback_list(**form.filters()), PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "feedback/list.html",
        {"form": form, "page": page, "query": query.urlencode()},
    )
