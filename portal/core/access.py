"""Access policies for views and API endpoints.

Every view is wrapped in exactly one of these decorators, which also stamps the view with
``access_policy`` so the test suite can walk every URL and prove none was left unguarded.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse

View = Callable[..., HttpResponse]

# Why a request was refused, as a short code on the request (``denial_mark``). The audit trail
# reads it when it records the denial (portal/audit/middleware.py); core cannot import the audit
# app, so the deciding code leaves the reason where the response's last reader finds it.
DENIAL_REASON_ATTR = "access_denied_reason"


def denial_mark(request: HttpRequest, reason: str) -> None:
    """Record why ``request`` is being refused ("login_required", "permission", "csrf", ...)."""
    setattr(request, DENIAL_REASON_ATTR, reason)


def denial_reason(request: HttpRequest) -> str | None:
    """The code ``denial_mark`` left on ``request``, if any."""
    return getattr(request, DENIAL_REASON_ATTR, None)


def public(view: View) -> View:
    """Anyone, including anonymous citizens. The view itself must filter by audience."""
    view.access_policy = ("public",)  # type: ignore[attr-defined]
    return view


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get(
        "Accept", ""
    )


def requires(*perms: str) -> Callable[[View], View]:
    """Signed-in users holding every permission in ``perms`` (``app_label.codename``)."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                denial_mark(request, "login_required")
                if _wants_json(request):
                    return JsonResponse({"error": "authentication required"}, status=401)
                return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
            if not request.user.has_perms(perms):
                denial_mark(request, "permission")
                if _wants_json(request):
                    return JsonResponse({"error": "permission denied"}, status=403)
                raise PermissionDenied
            return view(request, *args, **kwargs)

        wrapped.access_policy = ("requires", *perms)  # type: ignore[attr-defined]
        return wrapped

    return decorator
