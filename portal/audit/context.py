"""The request being served, so events recorded deep in services and signal receivers (a group
change made in /admin/, an upload) still carry the actor and the source address.

Set by ``portal.audit.middleware.audit_context``; a module of its own because the services read
it and the middleware, which records denials through the services, sets it.
"""

from __future__ import annotations

from contextvars import ContextVar, Token

from django.http import HttpRequest

_current_request: ContextVar[HttpRequest | None] = ContextVar("audit_request", default=None)


def current_request() -> HttpRequest | None:
    return _current_request.get()


def current_request_set(request: HttpRequest) -> Token:
    return _current_request.set(request)


def current_request_reset(token: Token) -> None:
    _current_request.reset(token)
