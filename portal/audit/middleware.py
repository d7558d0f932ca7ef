"""The audit trail's middleware: remembers the request being served (portal/audit/context.py) and
records the requests that were refused.

Innermost in MIDDLEWARE, so it sees the view's final status, including the 403 that
CsrfViewMiddleware answers from ``process_view`` and the 403 a raised PermissionDenied becomes,
with the user already resolved by AuthenticationMiddleware (or by the API's bearer token).
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from portal.audit.context import current_request, current_request_reset, current_request_set
from portal.audit.services import audit_denial_record
from portal.core.access import denial_reason

__all__ = ["audit_context", "current_request"]

DENIAL_STATUSES = frozenset({401, 403})
# When the code that refused did not say why (Django admin permission checks, the metrics
# allow-list, a view's own 403): the status is the reason.
_DEFAULT_REASONS = {401: "unauthenticated", 403: "forbidden"}


def audit_context(get_response: Callable[[HttpRequest], HttpResponse]):
    def middleware(request: HttpRequest) -> HttpResponse:
        token = current_request_set(request)
        try:
            response = get_response(request)
            # A 401 or 403, or a refusal the access layer marked (the sign-in redirect a page
            # answers an anonymous caller with is a 302, but still a denial).
            reason = denial_reason(request)
            status = response.status_code
            if status in DENIAL_STATUSES or reason:
                audit_denial_record(
                    request=request,
                    status=status,
                    reason=reason or _DEFAULT_REASONS.get(status, "denied"),
                )
            return response
        finally:
            current_request_reset(token)

    return middleware
