"""Remembers the request being served, so events recorded deep in services and signal receivers
(a group change made in /admin/, an upload) still carry the actor and the source address."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

from django.http import HttpRequest, HttpResponse

_current_request: ContextVar[HttpRequest | None] = ContextVar("audit_request", default=None)


def current_request() -> HttpRequest | None:
    return _current_request.get()


def audit_context(get_response: Callable[[HttpRequest], HttpResponse]):
    def middleware(request: HttpRequest) -> HttpResponse:
        token = _current_request.set(request)
        try:
            return get_response(request)
        finally:
            _current_request.reset(token)

    return middleware
