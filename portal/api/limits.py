"""The rate-limit hook of the API: asking, uploading and drafting are the costly operations.

The limiter lives in ``portal.core.ratelimit`` (issue 9: per user and per address, Redis-backed,
fixed windows). It is being built alongside this API, so this hook adapts to what it offers:
``rate_check(request, scope=...) -> RateDecision`` or ``rate_limit_check(request, scope) ->
seconds to wait | None``; without the module every request goes through.
"""

from __future__ import annotations

import importlib
import math

from django.http import HttpRequest, JsonResponse


def _wait_seconds(request: HttpRequest, scope: str) -> float | None:
    try:
        ratelimit = importlib.import_module("portal.core.ratelimit")
    except ModuleNotFoundError as exc:
        if exc.name != "portal.core.ratelimit":
            raise  # the module exists but is broken: say so, do not silently stop limiting
        return None
    if hasattr(ratelimit, "rate_check"):
        decision = ratelimit.rate_check(request, scope=scope)
        return None if decision.allowed else decision.retry_after_s
    return ratelimit.rate_limit_check(request, scope)


def api_rate_limited(request: HttpRequest, scope: str) -> JsonResponse | None:
    """A 429 with Retry-After when ``request`` is over the limit for ``scope``, else None."""
    wait = _wait_seconds(request, scope)
    if wait is None:
        return None
    seconds = max(1, math.ceil(wait))
    response = JsonResponse({"detail": "too many requests", "retry_after": seconds}, status=429)
    response["Retry-After"] = str(seconds)
    return response
