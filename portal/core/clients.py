"""Who is on the other end of a request, as far as the proxies in front of the app say."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or behind AUDIT_PROXY_COUNT trusted proxies the entry
    those proxies appended to X-Forwarded-For (entries further left are client-supplied).

    Used by the audit trail (its keyed client hash) and the rate limits (their per-address key).
    """
    proxies = settings.AUDIT_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    if proxies and len(hops) >= proxies:
        return hops[-proxies]
    return request.META.get("REMOTE_ADDR", "")
