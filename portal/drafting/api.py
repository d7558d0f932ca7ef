"""/api/v1/drafts: the drafting workspace for services and scripts (same services as the pages).

portal/api/api.py mounts the router."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError

from portal.accounts.roles import DRAFT
from portal.core.api_auth import Access
from portal.core.api_responses import Error, api_rate_limited
from portal.core.text_input import NormalizedStr
from portal.drafting import services
from portal.drafting.models import Draft
from portal.drafting.selectors import draft_for, drafts_for, templates_offered
from portal.drafting.views import docx_response

router = Router(tags=["drafts"])
DRAFTER = Access(DRAFT)


class TemplateOut(Schema):
    slug: str
    name_en: str
    name_zh: str
    description: str
    max_sentences: int


class DraftIn(Schema):
    template: str = Field(description="template slug")
    facts: NormalizedStr = Field(min_length=1, max_length=20000)
    collections: list[str] = Field(default_factory=list, max_length=10)
    title: NormalizedStr = Field(default="", max_length=200)
    language: Literal["en", "zh"] | None = None


class DraftSentenceOut(Schema):
    text: str
    citations: list[str]
    state: Literal["verified", "quoted", "edited", "edited_unverified"]
    quote: str
    check: dict


class DraftOut(Schema):
    id: uuid.UUID
    title: str
    template: str
    author: str
    language: str
    status: str
    facts: str
    collections: list[str]
    sentences: list[DraftSentenceOut]
    passages: list[dict]
    removed_sentences: int
    unverified_sentences: int
    backend: str
    model_id: str
    ai_generated: bool
    created_at: dt.datetime
    updated_at: dt.datetime
    exported_at: dt.datetime | None


class DraftEditIn(Schema):
    edits: dict[int, NormalizedStr] = Field(
        description="sentence index (from 0) -> new text with [n] markers; empty deletes it"
    )


def _out(draft: Draft) -> dict:
    return {
        "id": draft.public_id,
        "title": draft.title,
        "template": draft.template.slug,
        "author": draft.author.get_username(),
        "language": draft.language,
        "status": draft.status,
        "facts": draft.facts,
        "collections": draft.collections,
        "sentences": [
            {**s, "quote": s.get("quote") or "", "check": s.get("check") or {}}
            for s in draft.sentences
        ],
        "passages": draft.passages,
        "removed_sentences": draft.removed_sentences,
        "unverified_sentences": draft.unverified_count,
        "backend": draft.backend,
        "model_id": draft.model_id,
        "ai_generated": True,
        "created_at": draft.created_at,
        "updated_at": draft.updated_at,
        "exported_at": draft.exported_at,
    }


def _get(request: HttpRequest, draft_id: uuid.UUID) -> Draft:
    draft = draft_for(public_id=draft_id, user=request.user)
    if draft is None:
        raise HttpError(404, "no such draft")
    return draft


@router.get("/drafting/templates", auth=DRAFTER, response=list[TemplateOut])
def templates(request: HttpRequest):
    return list(templates_offered())


@router.get("/drafts", auth=DRAFTER, response=list[DraftOut])
def drafts_list(request: HttpRequest):
    """The caller's drafts (admins: everyone's), most recently changed first (at most 200)."""
    return [_out(d) for d in drafts_for(request.user)[:200]]


# 401, 403, 422 and 429 are added to the schema by rule (portal/api/openapi.py).
@router.post("/drafts", auth=DRAFTER, response={201: DraftOut, 400: Error})
def draft_create(request: HttpRequest, body: DraftIn):
    """Generate a draft now (synchronously) and return it with each sentence's verification."""
    limited = api_rate_limited(request, "draft")
    if limited:
        return limited
    template = templates_offered().filter(slug=body.template).first()
    if template is None:
        raise HttpError(400, f"no template {body.template!r}")
    try:
        draft = services.draft_create(
            template=template,
            facts=body.facts,
            user=request.user,
            collections=body.collections,
            title=body.title,
            language=body.language,
        )
    except services.DraftError as exc:
        raise HttpError(400, str(exc)) from exc
    return Status(201, _out(draft))


@router.get("/drafts/{draft_id}", auth=DRAFTER, response={200: DraftOut, 404: Error})
def draft_get(request: HttpRequest, draft_id: uuid.UUID):
    return _out(_get(request, draft_id))


@router.patch("/drafts/{draft_id}", auth=DRAFTER, response={200: DraftOut, 400: Error, 404: Error})
def draft_edit(request: HttpRequest, draft_id: uuid.UUID, body: DraftEditIn):
    """Edit sentences in place; each edited sentence is verified again and marked."""
    draft = _get(request, draft_id)
    try:
        draft = services.draft_edit(draft=draft, edits=body.edits, user=request.user)
    except services.DraftError as exc:
        raise HttpError(400, str(exc)) from exc
    return _out(draft)


@router.get(
    "/drafts/{draft_id}/export.docx",
    auth=DRAFTER,
    response={200: None, 404: Error},
    openapi_extra={
        "responses": {
            200: {
                "description": "the draft as DOCX: citations as footnotes, AI-generated label",
                "content": {
                    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": {
                        "schema": {"type": "string", "format": "binary"}
                    }
                },
            }
        }
    },
)
def draft_export(request: HttpRequest, draft_id: uuid.UUID):
    draft = _get(request, draft_id)
    return docx_response(draft, services.draft_export(draft=draft, user=request.user))
