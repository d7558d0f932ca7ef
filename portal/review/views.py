"""The review queue and one held answer's review page (reviewers only)."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from portal.accounts.roles import REVIEW
from portal.core.access import requires
from portal.core.text_input import normalize_text
from portal.qa.models import Answer
from portal.review import services
from portal.review.selectors import answer_passages, review_queue


@requires(REVIEW)
@require_http_methods(["GET"])
def queue(request: HttpRequest) -> HttpResponse:
    return render(request, "review/queue.html", {"items": review_queue()})


@requires(REVIEW)
@require_http_methods(["GET", "POST"])
def item(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    answer = get_object_or_404(Answer, public_id=public_id)
    edit_checks = None
    edit_text = answer.published_text
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "approve":
                services.review_approve(answer=answer, reviewer=request.user, request=request)
                messages.success(request, _("Approved and published."))
                return redirect("review:queue")
            if action == "reject":
                services.review_reject(
                    answer=answer,
                    reviewer=request.user,
                    reason=normalize_text(request.POST.get("reason", "")),
                    request=request,
                )
                messages.success(request, _("Rejected; the asker sees the refusal guidance."))
                return redirect("review:queue")
            if action == "edit":
                edit_text = normalize_text(request.POST.get("text", ""))
                result = services.review_edit(
                    answer=answer,
                    reviewer=request.user,
                    text=edit_text,
                    reason=normalize_text(request.POST.get("reason", "")),
                    request=request,
                )
                if result.saved:
                    messages.success(request, _("Edit verified and published."))
                    return redirect("review:queue")
                edit_checks = result.checks
                messages.error(request, _("Some sentences are not supported by their passages."))
            else:
                messages.error(request, _("Unknown action."))
        except services.ReviewError as exc:
            messages.error(request, str(exc))
    return render(
        request,
        "review/item.html",
        {
            "answer": answer,
            "passages": answer_passages(answer),
            "verification": answer.verification,
            "edit_text": edit_text,
            "edit_checks": edit_checks,
        },
        status=400 if edit_checks is not None else 200,
    )
