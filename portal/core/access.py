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
                if _wants_json(request):
                    return JsonResponse({"error": "authentication required"}, status=401)
                return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
            if not request.user.has_perms(perms):
                if _wants_json(request):
                    return JsonResponse({"error": "permission denied"}, status=403)
                raise PermissionDenied
            return view(request, *args, **kwargs)

        wrapped.access_policy = ("requires", *perms)  # type: ignore[attr-defined]
        return wrapped

    return decorator
