from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET
from django.views.i18n import set_language as django_set_language

from portal.core.access import public
from portal.core.health import readiness_check
from portal.core.metrics import metrics_access_allowed, metrics_exposition

set_language = public(django_set_language)


@public
@require_GET
def live(request: HttpRequest) -> HttpResponse:
    """Liveness: the process answers (no dependencies checked: a restart would not fix them)."""
    return HttpResponse("ok", content_type="text/plain")


@public
@require_GET
def ready(request: HttpRequest) -> JsonResponse:
    """Readiness: database, Redis, the current index loaded, the configured model in use.

    Probes and load balancers need only the status code. The body names each part, what is down
    and why (versions, URLs, file paths, error text), so it is for operators alone: the callers
    /metrics admits. Everyone else gets the bare status.
    """
    readiness = readiness_check()
    operator = metrics_access_allowed(request)
    body = readiness.as_dict() if operator else {"status": readiness.status}
    response = JsonResponse(body, status=200 if readiness.ok else 503)
    if not readiness.ok:
        response["Retry-After"] = "5"
    return response


@public
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus exposition, for allowed addresses or the bearer token only (see metrics.py)."""
    if not metrics_access_allowed(request):
        return HttpResponse("forbidden\n", status=403, content_type="text/plain")
    body, content_type = metrics_exposition()
    return HttpResponse(body, content_type=content_type)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500 for pages (portal.core.api_errors.server_error answers /api/ itself): the
    portal's error page, without a traceback; a database or Redis outage is 503 with Retry-After
    (retry soon), not a bug. A script that asked for JSON (Accept) gets JSON, as the API does.

    Django calls this for any uncaught exception (views and middleware alike); the exception is
    still in sys.exc_info() here. 500.html is rendered without the request: its context
    processors read the session and the user, which need the database that may be what failed.
    """
    import sys

    from django.db import DatabaseError
    from django.template import loader
    from redis.exceptions import RedisError

    exc = sys.exc_info()[1]
    outage = isinstance(exc, DatabaseError | RedisError)
    if request.path_info.startswith("/api/") or "application/json" in request.headers.get(
        "Accept", ""
    ):
        if outage:
            part = "database" if isinstance(exc, DatabaseError) else "redis"
            response = JsonResponse(
                {"error": "service temporarily unavailable, please retry", "down": [part]},
                status=503,
            )
        else:
            response = JsonResponse({"error": "internal error"}, status=500)
    else:
        response = HttpResponse(
            loader.get_template("500.html").render(), status=503 if outage else 500
        )
    if outage:
        response["Retry-After"] = "5"
    return response
