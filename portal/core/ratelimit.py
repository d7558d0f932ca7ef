"""A small Redis-backed rate limiter for the ask endpoints (429 with Retry-After).

Fixed one-minute windows counted in the shared cache (Redis in production, so every web process
and machine shares the count). Two budgets apply to each question: one per signed-in user (or per
address for anonymous citizens) and a larger one per address, because a whole office behind one
NAT address asks through the same IP. If the cache is unreachable the limiter lets the request
through: refusing every citizen because Redis restarted would be worse than a minute unlimited.

Scopes ("ask" here; "upload" and "draft" from the API) are counted separately with the same
RATE_LIMIT_ASK_PER_MINUTE(_ADDRESS) budgets.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from redis.exceptions import RedisError

from portal.core.clients import client_address
from portal.core.metrics import rate_limited_count

logger = logging.getLogger(__name__)
WINDOW_S = 60


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    retry_after_s: int
    key: str = ""
    count: int = 0
    limit: int = 0


def _hit(key: str, limit: int, now: float) -> RateDecision:
    window = int(now // WINDOW_S)
    cache_key = f"rl:{key}:{window}"
    # add() is SET NX: the first request of the window creates the counter with its expiry, and
    # incr() is atomic in Redis, so concurrent processes never lose a count.
    cache.add(cache_key, 0, timeout=WINDOW_S + 5)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between add() and incr(): this request opens the window
        cache.add(cache_key, 1, timeout=WINDOW_S + 5)
        count = 1
    retry = max(1, int((window + 1) * WINDOW_S - now + 0.999))
    return RateDecision(count <= limit, retry, key, count, limit)


def rate_check(request: HttpRequest, *, scope: str, now: float | None = None) -> RateDecision:
    """Count this request against its budgets; the first one exceeded decides."""
    return rate_check_client(
        user=getattr(request, "user", None),
        address=client_address(request),
        scope=scope,
        now=now,
    )


def rate_check_client(*, user, address: str, scope: str, now: float | None = None) -> RateDecision:
    """Count one costly operation by ``user`` (or, anonymous, by ``address``) against the
    budgets of ``scope``. Services call this, so every surface shares one count."""
    now = time.time() if now is None else now
    address = address or "unknown"
    budgets: list[tuple[str, int]] = []
    per_user = settings.RATE_LIMIT_ASK_PER_MINUTE
    per_address = settings.RATE_LIMIT_ASK_PER_MINUTE_ADDRESS
    if per_user:
        who = f"u{user.pk}" if user is not None and user.is_authenticated else f"a{address}"
        budgets.append((f"{scope}:{who}", per_user))
    if per_address:
        budgets.append((f"{scope}:ip{address}", per_address))
    try:
        for key, limit in budgets:
            decision = _hit(key, limit, now)
            if not decision.allowed:
                rate_limited_count(scope)
                return decision
    except (RedisError, OSError) as exc:  # cache outage: fail open (see the module docstring)
        logger.warning("rate limiter unavailable, letting the request through: %s", exc)
    return RateDecision(True, 0)


def rate_limited(scope: str) -> Callable:
    """View decorator: 429 + Retry-After (JSON body) when the caller is over a budget."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            decision = rate_check(request, scope=scope)
            if not decision.allowed:
                response = JsonResponse(
                    {
                        "error": "too many questions, please wait and try again",
                        "retry_after_s": decision.retry_after_s,
                    },
                    status=429,
                )
                response["Retry-After"] = str(decision.retry_after_s)
                return response
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
