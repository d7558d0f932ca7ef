"""What every /api/v1/ router answers the same way: the error bodies and the 429 with Retry-After.

Asking, uploading and drafting are the costly operations. The limiter is
``portal.core.ratelimit`` (per user and per address, Redis-backed, one-minute windows, the
RATE_LIMIT_ASK_PER_MINUTE* budgets). Each scope ("ask", "upload", "draft") is counted on its own;
"ask" is counted inside the answer engine, so the ask page's form, the API and its stream share
one budget and a client cannot double it by switching surfaces.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from ninja import Schema

from portal.core.ratelimit import rate_check


class Error(Schema):
    detail: str


class RateLimitedError(Error):
    """The 429 body; the Retry-After header carries the same number of seconds."""

    retry_after_s: int


class ValidationIssue(Schema):
    type: str
    loc: list[str | int]  # where: ("body", "question"), ("path", "draft_id"), ...
    msg: str
    ctx: dict | None = None


class ValidationErrorOut(Schema):
    """The 422 body ninja answers when a parameter or the body does not validate."""

    detail: list[ValidationIssue]


def too_many_requests(retry_after_s: int) -> JsonResponse:
    response = JsonResponse(
        {"detail": "too many requests", "retry_after_s": retry_after_s}, status=429
    )
    response["Retry-After"] = str(retry_after_s)
    return response


def api_rate_limited(request: HttpRequest, scope: str) -> JsonResponse | None:
    """A 429 with Retry-After when ``request`` is over its budget for ``scope``, else None."""
    decision = rate_check(request, scope=scope)
    return None if decision.allowed else too_many_requests(decision.retry_after_s)
