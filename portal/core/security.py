"""Session lifetime and browser security headers (issue 7).

Sessions end two ways. Idle: SESSION_COOKIE_AGE is SESSION_IDLE_SECONDS and every request saves
the session (SESSION_SAVE_EVERY_REQUEST), so the server-side expiry moves forward only while the
user is active. Absolute: ``session_expiry`` stores the sign-in time in the session and signs the
user out once SESSION_ABSOLUTE_SECONDS have passed, however active they were, so a stolen or
forgotten session cannot be kept alive forever.

``security_headers`` sets the Content-Security-Policy (no inline scripts anywhere; the Django
admin alone may use inline styles, which its templates need) and the Permissions-Policy; Django's
SecurityMiddleware already sends X-Content-Type-Options, Referrer-Policy and
Cross-Origin-Opener-Policy from settings.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import SESSION_KEY, logout
from django.contrib.auth.views import redirect_to_login
from django.dispatch import Signal
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.csrf import csrf_failure as django_csrf_failure

from portal.core.access import denial_mark

LOGIN_TIME_KEY = "portal_signed_in_at"

# Sent (request=, user_id=, after_seconds=) once a session has been signed out for its age; the
# audit trail records it (portal/audit/receivers.py), so core need not import the audit app.
session_expired = Signal()


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get(
        "Accept", ""
    )


def session_expiry(get_response: Callable[[HttpRequest], HttpResponse]):
    """Sign out sessions older than SESSION_ABSOLUTE_SECONDS (after AuthenticationMiddleware)."""

    def middleware(request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        if session is not None and session.get(SESSION_KEY):
            signed_in_at = session.get(LOGIN_TIME_KEY)
            if signed_in_at is not None and (
                time.time() - signed_in_at > settings.SESSION_ABSOLUTE_SECONDS
            ):
                user_id = request.user.pk
                logout(request)  # flushes the session and rotates the CSRF token
                session_expired.send(
                    sender=session_expiry,
                    request=request,
                    user_id=user_id,
                    after_seconds=settings.SESSION_ABSOLUTE_SECONDS,
                )
                if _wants_json(request):
                    return JsonResponse({"detail": "session expired; sign in again"}, status=401)
                return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
        response = get_response(request)
        # Stamp sessions that just signed in (the login view ran above) or that predate this
        # middleware. Session-less callers (API tokens) get no session created for them.
        session = getattr(request, "session", None)
        if session is not None and session.get(SESSION_KEY) and LOGIN_TIME_KEY not in session:
            session[LOGIN_TIME_KEY] = int(time.time())
        return response

    return middleware


def security_headers(get_response: Callable[[HttpRequest], HttpResponse]):
    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        if settings.SECURITY_CSP and "Content-Security-Policy" not in response:
            policy = settings.SECURITY_CSP
            if request.path.startswith("/admin/"):
                policy = policy.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
            response["Content-Security-Policy"] = policy
        if settings.SECURITY_PERMISSIONS_POLICY:
            response.setdefault("Permissions-Policy", settings.SECURITY_PERMISSIONS_POLICY)
        return response

    return middleware


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: Django's own 403 page, with the request marked as a CSRF refusal so
    the denial audit can tell it from a missing permission (both are plain 403s otherwise)."""
    denial_mark(request, "csrf")
    return django_csrf_failure(request, reason=reason)
