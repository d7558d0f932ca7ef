"""Request id and request metrics for every request (the outermost middleware)."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from portal.core import metrics
from portal.core.requestid import (
    HEADER,
    request_id_from_header,
    request_id_reset,
    request_id_set,
)


def observability(get_response: Callable[[HttpRequest], HttpResponse]):
    def middleware(request: HttpRequest) -> HttpResponse:
        request_id = request_id_from_header(request.headers.get(HEADER))
        request.request_id = request_id
        token = request_id_set(request_id)
        started = time.perf_counter()
        try:
            response = get_response(request)
        finally:
            request_id_reset(token)
        response[HEADER] = request_id
        match = getattr(request, "resolver_match", None)
        # The route pattern, not the path: ids in paths would make one series per answer.
        route = match.route if match is not None else "unmatched"
        metrics.request_observe(
            method=request.method or "",
            route=route or "/",
            status=response.status_code,
            seconds=time.perf_counter() - started,
        )
        return response

    return middleware
