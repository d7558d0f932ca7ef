"""The staff drafting workspace: list, new draft, edit in place, export DOCX."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from portal.accounts.roles import DRAFT
from portal.core.access import requires
from portal.core.text_input import normalize_text
from portal.drafting import services
from portal.drafting.forms import DraftForm
from portal.drafting.selectors import draft_for, drafts_for


def _draft(request: HttpRequest, public_id: uuid.UUID):
    draft = draft_for(public_id=public_id, user=request.user)
    if draft is None:
        raise Http404("No such draft.")
    return draft


@requires(DRAFT)
@require_GET
def draft_list(request: HttpRequest) -> HttpResponse:
    return render(request, "drafting/list.html", {"drafts": drafts_for(request.user)[:200]})


@requires(DRAFT)
@require_http_methods(["GET", "POST"])
def draft_new(request: HttpRequest) -> HttpResponse:
    form = DraftForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            draft = services.draft_create(
                template=data["template"],
                facts=data["facts"],
                user=request.user,
                collections=data["collections"],
                title=data["title"],
                language=data["language"] or None,
            )
        except services.DraftError as exc:
            messages.error(request, str(exc))
        else:
            return redirect("drafting:detail", public_id=draft.public_id)
    return render(request, "drafting/new.html", {"form": form})


@requires(DRAFT)
@require_http_methods(["GET", "POST"])
def draft_detail(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    draft = _draft(request, public_id)
    if request.method == "POST":
        edits = {
            i: normalize_text(request.POST[f"sentence-{i}"])
            for i in range(len(draft.sentences))
            if f"sentence-{i}" in request.POST
        }
        try:
            draft = services.draft_edit(draft=draft, edits=edits, user=request.user)
        except services.DraftError as exc:
            messages.error(request, str(exc))
        else:
            if draft.unverified_count:
                messages.warning(
                    request,
                    _("Saved. %(n)d sentence(s) are not supported by their cited source.")
                    % {"n": draft.unverified_count},
                )
            else:
                messages.success(request, _("Saved; every sentence is supported by its source."))
            return redirect("drafting:detail", public_id=draft.public_id)
    rows = [
        {
            "index": i,
            "sentence": s,
            "editable": services.sentence_with_markers(s),
        }
        for i, s in enumerate(draft.sentences)
    ]
    return render(
        request,
        "drafting/detail.html",
        {
            "draft": draft,
            "rows": rows,
            "passages": draft.passages,
            "opening": draft.template.opening(draft.language),
            "closing": draft.template.closing(draft.language),
        },
    )


@requires(DRAFT)
@require_GET
def draft_export(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    draft = _draft(request, public_id)
    data = services.draft_export(draft=draft, user=request.user)
    return docx_response(draft, data)


def docx_response(draft, data: bytes) -> HttpResponse:
    response = HttpResponse(
        data,
        content_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    )
    name = slugify(draft.title) or "draft"
    response["Content-Disposition"] = f'attachment; filename="{name}.docx"'
    return response
