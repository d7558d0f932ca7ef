"""Who is calling /api/v1/, and may they: one ninja auth callable per operation.

Two ways in, checked in this order:
- a service sends ``Authorization: Bearer <token>``; no cookies, so no CSRF risk;
- a browser sends its session cookie; then unsafe methods (POST, PUT, PATCH, DELETE) must carry
  the CSRF token exactly as a form post would, because the browser attaches the cookie to
  cross-site requests too.
A malformed, unknown or revoked bearer token is a 401 even on public operations: a caller that
meant to authenticate must not be served silently as an anonymous citizen.

The policy lives here, below the apps, so each app's router (``portal/<app>/api.py``) can declare
its own operations' access without importing ``portal.api``, which sits above the apps. Tokens
are ``portal.api``'s model: it registers the lookup in its ``AppConfig.ready()``
(``bearer_lookup_register``), the way the apps register readiness probes, so core never imports
it. Until a lookup is registered every bearer token is refused.

The permission names are those of ``portal.accounts.roles``, checked with ``user.has_perms`` as
``portal.core.access.requires`` does for the pages, so the UI and the API cannot drift apart.
``Access.policy`` has the same shape as a view's ``access_policy`` for the access tests.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from ninja.errors import AuthenticationError, HttpError
from ninja.security.base import AuthBase
from ninja.utils import check_csrf

from portal.core.access import denial_mark

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

BearerLookup = Callable[[str], Any]  # secret -> the active user it acts as, or None
_hooks: dict[str, BearerLookup] = {}


def bearer_lookup_register(lookup: BearerLookup) -> None:
    """Install the function that maps a bearer secret to its user (call from ``ready()``).
    Registering again replaces it."""
    _hooks["bearer"] = lookup


def _bearer_user(secret: str):
    lookup = _hooks.get("bearer")
    return lookup(secret) if lookup is not None and secret else None


class _Anonymous(AnonymousUser):
    # ninja treats a falsy auth result as "not authenticated"; an anonymous citizen is a
    # legitimate caller of public operations, so this stand-in is truthy.
    def __bool__(self) -> bool:
        return True


class Access(AuthBase):
    """Authenticate (token, else session with CSRF), then require ``perms`` unless public."""

    openapi_type = "http"
    openapi_scheme = "bearer"

    def __init__(self, *perms: str, public: bool = False) -> None:
        if public and perms:
            raise ValueError("a public operation cannot also require permissions")
        self.perms = perms
        self.public = public
        super().__init__()

    @property
    def policy(self) -> tuple[str, ...]:
        return ("public",) if self.public else ("requires", *self.perms)

    def __call__(self, request: HttpRequest) -> Any:
        user = self._token_user(request)
        if user is None and request.user.is_authenticated:
            user = request.user
            if self._csrf_required(request) and check_csrf(request) is not None:
                denial_mark(request, "csrf")
                raise HttpError(403, "CSRF check failed: send the X-CSRFToken header")
        if user is None:
            if self.public:
                return _Anonymous()
            denial_mark(request, "login_required")
            raise AuthenticationError(401, "authentication required")
        if not user.has_perms(self.perms):
            denial_mark(request, "permission")
            raise HttpError(403, "permission denied")
        return user

    @staticmethod
    def _csrf_required(request: HttpRequest) -> bool:
        return request.method in UNSAFE_METHODS and not getattr(
            request, "_ninja_csrf_exempt", False
        )

    @staticmethod
    def _token_user(request: HttpRequest):
        header = request.headers.get("Authorization", "")
        if not header:
            return None
        scheme, _, secret = header.partition(" ")
        user = _bearer_user(secret.strip()) if scheme.lower() == "bearer" else None
        if user is None:
            denial_mark(request, "token_invalid")
            raise AuthenticationError(401, "invalid or revoked API token")
        # Services and audit events read request.user: the token acts as its owner everywhere.
        request.user = user
        return user


PUBLIC = Access(public=True)
SIGNED_IN = Access()
