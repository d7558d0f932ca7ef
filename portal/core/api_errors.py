"""Every error under /api/ is JSON (``{"detail": ...}``) with the status that says what went wrong.

Errors reach an API client from three places, so each has its piece here:

1. Inside a ninja operation (``api_error_handlers_install``, called on the NinjaAPI): reading a
   body over DATA_UPLOAD_MAX_MEMORY_SIZE, a form with too many fields or files, is a
   SuspiciousOperation raised by Django's request parsing. ninja's default handler re-raised it
   for Django (an HTML 400 page in production, a traceback with DEBUG) and answered any other
   exception with a text/plain traceback under DEBUG. Here they become 413 (too large), 400 (other
   suspicious input), and 500, or 503 with Retry-After when the database or Redis is down.
2. Outside an operation, Django's handlers (``handler400/403/404/500`` in portal/urls.py): an
   unknown route under /api/ answers JSON, every other path the portal's usual pages.
3. What Django and ninja render themselves, bypassing both: with DEBUG, Django's technical 404
   and 400 pages (handlers are not called then), and ninja's text/plain 405. ``api_json_errors``,
   a middleware, rewrites any non-JSON error body under /api/ into ``{"detail": <reason>}``,
   keeping status and headers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.core.exceptions import (
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.signals import got_request_exception
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.log import log_response
from django.views import defaults
from redis.exceptions import RedisError

API_PREFIX = "/api/"
# Over a size or count limit: 413 Content Too Large, so a client knows to send less rather than
# to fix its syntax. Django itself answers these with a generic 400.
TOO_LARGE = (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent)
OUTAGE_RETRY_AFTER_S = 5
_JSON_TYPES = ("application/json", "application/problem+json")


def is_api_request(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PREFIX)


def api_error(status: int, detail: str, **extra) -> JsonResponse:
    return JsonResponse({"detail": detail, **extra}, status=status)


def suspicious_response(request: HttpRequest, exc: SuspiciousOperation) -> JsonResponse:
    """413 for a request over the upload limits, 400 for any other suspicious input."""
    if isinstance(exc, TOO_LARGE):
        # As Django's own handler does: the body cannot be read again, so mark the parse failed
        # rather than let a later reader of request.POST raise the same exception outside here.
        request._mark_post_parse_error()
    # The security logger is where Django reports these; monitoring that watches it keeps working.
    logging.getLogger(f"django.security.{type(exc).__name__}").error(
        str(exc), exc_info=exc, extra={"status_code": 400, "request": request}
    )
    if isinstance(exc, TOO_LARGE):
        return api_error(413, "request too large: " + _limit_hint(exc))
    return api_error(400, "bad request")


def _limit_hint(exc: SuspiciousOperation) -> str:
    if isinstance(exc, TooManyFieldsSent):
        return "too many fields (DATA_UPLOAD_MAX_NUMBER_FIELDS)"
    if isinstance(exc, TooManyFilesSent):
        return "too many files (DATA_UPLOAD_MAX_NUMBER_FILES)"
    return "body over DATA_UPLOAD_MAX_MEMORY_SIZE"


def _outage_response(exc: BaseException | None) -> JsonResponse | None:
    if isinstance(exc, DatabaseError | RedisError):
        part = "database" if isinstance(exc, DatabaseError) else "redis"
        response = api_error(503, "service temporarily unavailable, please retry", down=[part])
        response["Retry-After"] = str(OUTAGE_RETRY_AFTER_S)
        return response
    return None


def unexpected_response(request: HttpRequest, exc: Exception) -> JsonResponse:
    """A bug or an outage inside an operation: logged and signalled as Django would, answered in
    JSON even with DEBUG (the traceback is in the log, never in the response)."""
    # Error reporters listen to this signal, and Django's test client re-raises what it carries.
    got_request_exception.send(sender=None, request=request)
    response = _outage_response(exc) or api_error(500, "internal error")
    log_response(
        "%s: %s",
        response.reason_phrase,
        request.path,
        response=response,
        request=request,
        exception=exc,
    )
    return response


def api_error_handlers_install(api) -> None:
    """Register the JSON handlers on a NinjaAPI (its own handlers for HttpError, validation,
    authentication and 404 already answer ``{"detail": ...}``; ninja picks the most specific)."""

    def on_suspicious(request: HttpRequest, exc: SuspiciousOperation) -> HttpResponse:
        return suspicious_response(request, exc)

    def on_exception(request: HttpRequest, exc: Exception) -> HttpResponse:
        return unexpected_response(request, exc)

    api.add_exception_handler(SuspiciousOperation, on_suspicious)
    api.add_exception_handler(Exception, on_exception)


# -- Django's handlers (portal/urls.py): JSON under /api/, the portal's pages elsewhere ------------


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if not is_api_request(request):
        return defaults.bad_request(request, exception)
    if isinstance(exception, SuspiciousOperation):
        return suspicious_response(request, exception)
    return api_error(400, "bad request")


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if not is_api_request(request):
        return defaults.permission_denied(request, exception)
    return api_error(403, "permission denied")


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if not is_api_request(request):
        return defaults.page_not_found(request, exception)
    return api_error(404, "not found")


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: 503 + Retry-After for a database or Redis outage, else 500; JSON under
    /api/, the portal's 500 page elsewhere (portal.core.views.server_error)."""
    if not is_api_request(request):
        from portal.core.views import server_error as page_server_error

        return page_server_error(request)
    import sys

    return _outage_response(sys.exc_info()[1]) or api_error(500, "internal error")


# -- the middleware: what nothing above got to render ----------------------------------------------


def api_json_errors(get_response: Callable[[HttpRequest], HttpResponse]):
    """Rewrite a non-JSON error body under /api/ as ``{"detail": <reason phrase>}``.

    Keeps the response object, so its status and headers (Allow, Retry-After, the security
    headers, cookies) stay as they were. Streaming responses are left alone: their body is the
    content, and an error never streams.
    """

    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        if (
            response.status_code >= 400
            and not response.streaming
            and is_api_request(request)
            and not response.get("Content-Type", "").startswith(_JSON_TYPES)
        ):
            _as_json(response)
        return response

    return middleware


def _as_json(response: HttpResponse) -> None:
    response.content = JsonResponse({"detail": response.reason_phrase}).content
    response["Content-Type"] = "application/json"
    if response.has_header("Content-Length"):
        response["Content-Length"] = str(len(response.content))
