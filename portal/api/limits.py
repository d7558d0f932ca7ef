"""Rate limits of the API: asking, uploading and drafting are the costly operations.

The limiter is ``portal.core.ratelimit`` (per user and per address, Redis-backed, one-minute
windows, the RATE_LIMIT_ASK_PER_MINUTE* budgets). Each scope ("ask", "upload", "draft") is
counted on its own, and the API's "ask" shares its counter with the portal's /api/ask, so a
client cannot double its budget by switching endpoints.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse

from portal.core.ratelimit import rate_check


def api_rate_limited(request: HttpRequest, scope: str) -> JsonResponse | None:
    """A 429 with Retry-After when ``request`` is over its budget for ``scope``, else None."""
    decision = rate_check(request, scope=scope)
    if decision.allowed:
        return None
    response = JsonResponse(
        {"detail": "too many requests", "retry_after_s": decision.retry_after_s}, status=429
    )
    response["Retry-After"] = str(decision.retry_after_s)
    return response
