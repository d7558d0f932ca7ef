"""/api/v1/review: the queue of held answers and the reviewer's actions on one of them.

portal/api/api.py mounts the router."""

from __future__ import annotations

import uuid

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError

from portal.accounts.roles import REVIEW
from portal.core.api_auth import Access
from portal.core.api_responses import Error
from portal.core.text_input import NormalizedStr
from portal.qa.models import Answer
from portal.review import services
from portal.review.selectors import review_queue

router = Router(tags=["review"])
REVIEWER = Access(REVIEW)


class QueueItemOut(Schema):
    answer_id: str
    question: str
    language: str
    reasons: list[str]
    age_hours: float
    overdue: bool
    draft: str
    asked_again: int = 0  # later askers of the same question whose answers follow this one


class ReviewEditIn(Schema):
    text: NormalizedStr = Field(min_length=1, max_length=5000)
    reason: NormalizedStr = Field(default="", max_length=1000)


class ReviewRejectIn(Schema):
    reason: NormalizedStr = Field(min_length=1, max_length=1000)


class ReviewOut(Schema):
    answer_id: str
    status: str


class FindingOut(Schema):
    code: str  # a Problem name, e.g. NUMBER_MISSING (portal/qa/verify/problems.py)
    params: dict[str, str] = {}


class SentenceCheckOut(Schema):
    text: str
    labels: list[str]
    supported: bool
    probability: float  # the calibrated support score
    aligned_label: str | None
    findings: list[FindingOut]
    problems: list[str]  # the findings as English text


class ReviewEditOut(Schema):
    answer_id: str
    saved: bool
    status: str
    checks: list[SentenceCheckOut]


def _answer(answer_id: uuid.UUID) -> Answer:
    answer = Answer.objects.filter(public_id=answer_id).first()
    if answer is None:
        raise HttpError(404, "no such answer")
    return answer


@router.get("/review/queue", auth=REVIEWER, response=list[QueueItemOut])
def queue(request: HttpRequest):
    """Held answers, oldest first, with why they were held and their age."""
    return [
        {
            "answer_id": str(item.answer.public_id),
            "question": item.answer.question,
            "language": item.answer.language,
            "reasons": [
                r.get("code", "") for r in item.answer.guard.get("route", {}).get("reasons", [])
            ],
            "age_hours": item.age_hours,
            "overdue": item.overdue,
            "draft": item.answer.published_text,
            "asked_again": item.asked_again,
        }
        for item in review_queue()
    ]


@router.post(
    "/review/{answer_id}/approve", auth=REVIEWER, response={200: ReviewOut, 404: Error, 409: Error}
)
def approve(request: HttpRequest, answer_id: uuid.UUID):
    answer = _answer(answer_id)
    try:
        services.review_approve(answer=answer, reviewer=request.user, request=request)
    except services.ReviewError as exc:
        raise HttpError(409, str(exc)) from exc
    answer.refresh_from_db(fields=["status"])
    return {"answer_id": str(answer.public_id), "status": answer.status}


@router.post(
    "/review/{answer_id}/reject", auth=REVIEWER, response={200: ReviewOut, 404: Error, 409: Error}
)
def reject(request: HttpRequest, answer_id: uuid.UUID, body: ReviewRejectIn):
    answer = _answer(answer_id)
    try:
        services.review_reject(
            answer=answer, reviewer=request.user, reason=body.reason, request=request
        )
    except services.ReviewError as exc:
        raise HttpError(409, str(exc)) from exc
    answer.refresh_from_db(fields=["status"])
    return {"answer_id": str(answer.public_id), "status": answer.status}


@router.post(
    "/review/{answer_id}/edit",
    auth=REVIEWER,
    response={200: ReviewEditOut, 404: Error, 409: Error, 422: ReviewEditOut},
)
def edit(request: HttpRequest, answer_id: uuid.UUID, body: ReviewEditIn):
    """Publish an edited answer if every sentence passes verification against the answer's
    passages; 422 with each sentence's check otherwise (nothing is saved)."""
    answer = _answer(answer_id)
    try:
        result = services.review_edit(
            answer=answer,
            reviewer=request.user,
            text=body.text,
            reason=body.reason,
            request=request,
        )
    except services.ReviewError as exc:
        raise HttpError(409, str(exc)) from exc
    answer.refresh_from_db(fields=["status"])
    payload = {
        "answer_id": str(answer.public_id),
        "saved": result.saved,
        "status": answer.status,
        "checks": [c.as_dict() for c in result.checks],
    }
    return Status(200 if result.saved else 422, payload)
