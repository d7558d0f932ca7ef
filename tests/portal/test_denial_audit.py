"""Refused requests are audited: for each route in a matrix of denials (role checks on pages and
the API, missing and bad tokens, CSRF failures on forms and the API) one ``access.denied`` event
with the route pattern, method, status and reason; repeating the denial within the window adds
none, so a scan cannot flood the trail."""

from __future__ import annotations

import uuid

import pytest
from django.core.cache import cache
from django.http import HttpResponse
from django.test import Client, RequestFactory

from portal.api.services import api_token_create
from portal.audit.middleware import audit_context
from portal.audit.models import AuditEvent
from portal.audit.signing import keyed_hash

ANSWER = uuid.UUID("12345678-1234-5678-1234-567812345678")


@pytest.fixture(autouse=True)
def _fresh_window(settings):
    settings.AUDIT_DENIAL_WINDOW_SECONDS = 300
    cache.clear()  # no window left open by another test in this Redis db


def _denials():
    return AuditEvent.objects.filter(action="access.denied").order_by("seq")


# (caller, method, path, expected route, status, reason). Callers: None (anonymous), a role's
# session, "<role>-token" (its API token), "bad-token".
MATRIX = [
    ("staff", "get", "/review/?page=2", "review/", 403, "permission"),
    ("staff", "get", f"/review/{ANSWER}/", "review/<uuid:public_id>/", 403, "permission"),
    (None, "get", "/audit/", "audit/", 302, "login_required"),
    (None, "get", "/api/v1/documents", "api/v1/documents", 401, "login_required"),
    ("bad-token", "get", "/api/v1/documents", "api/v1/documents", 401, "token_invalid"),
    ("staff-token", "get", "/api/v1/review/queue", "api/v1/review/queue", 403, "permission"),
    ("staff", "get", "/api/v1/audit/export?actor=7", "api/v1/audit/export", 403, "permission"),
    (
        "reviewer",
        "post",
        f"/api/v1/review/{ANSWER}/approve",
        "api/v1/review/<answer_id>/approve",
        403,
        "csrf",
    ),
    ("staff", "post", "/accounts/logout/", "accounts/logout/", 403, "csrf"),
]


def _caller(make_user, caller: str | None) -> tuple[Client, dict, object]:
    client = Client(enforce_csrf_checks=True)  # the test client skips CSRF checks otherwise
    headers: dict = {"REMOTE_ADDR": "203.0.113.40"}
    user = None
    if caller == "bad-token":
        headers["HTTP_AUTHORIZATION"] = "Bearer not-a-real-token"
    elif caller and caller.endswith("-token"):
        user = make_user(caller.removesuffix("-token"))
        headers["HTTP_AUTHORIZATION"] = f"Bearer {api_token_create(owner=user, name='t').secret}"
    elif caller:
        user = make_user(caller)
        client.force_login(user)
    return client, headers, user


@pytest.mark.parametrize(
    ("caller", "method", "path", "route", "status", "reason"),
    MATRIX,
    ids=[f"{row[0] or 'anonymous'}-{row[1]}-{row[3]}" for row in MATRIX],
)
def test_each_denial_is_recorded_once_per_window(
    make_user, caller, method, path, route, status, reason
):
    client, headers, user = _caller(make_user, caller)
    before = _denials().count()

    response = getattr(client, method)(path, **headers)
    assert response.status_code == status
    events = list(_denials())[before:]
    assert len(events) == 1, [e.detail for e in events]
    event = events[0]
    assert event.outcome == "denied"
    assert event.detail == {
        "route": route,
        "method": method.upper(),
        "status": status,
        "reason": reason,
    }
    assert event.actor_id == (user.pk if user is not None else None)
    assert event.client == keyed_hash("client", "203.0.113.40")
    # The pattern, never the path: no ids or query strings in the trail.
    assert str(ANSWER) not in str(event.detail) and "?" not in event.detail["route"]

    # Repeating the denial inside the window adds nothing...
    for _ in range(3):
        assert getattr(client, method)(path, **headers).status_code == status
    assert _denials().count() == before + 1
    # ...until the window has passed (its counter expired).
    cache.clear()
    getattr(client, method)(path, **headers)
    assert _denials().count() == before + 2


def test_windows_are_per_caller_route_and_status(client, make_user):
    # Two anonymous addresses on one route: one event each.
    client.get("/api/v1/documents", REMOTE_ADDR="203.0.113.1")
    client.get("/api/v1/documents", REMOTE_ADDR="203.0.113.2")
    assert _denials().count() == 2
    # The same address on another route, and another status on the first route: new events.
    client.get("/api/v1/jobs", REMOTE_ADDR="203.0.113.1")
    client.get("/api/v1/documents", REMOTE_ADDR="203.0.113.1", HTTP_AUTHORIZATION="Bearer x")
    assert _denials().count() == 3  # the bad token is a 401 too: same caller, route and status
    client.force_login(make_user("staff"))
    client.get("/api/v1/documents", REMOTE_ADDR="203.0.113.1")  # signed in: 403, a new caller
    assert _denials().count() == 4
    assert list(_denials().values_list("detail__status", flat=True)) == [401, 401, 401, 403]


def test_allowed_requests_and_failed_sign_ins_record_no_denial(client, make_user):
    client.force_login(make_user("reviewer"))
    assert client.get("/review/").status_code == 200
    client.logout()
    assert client.post("/accounts/login/", {"username": "x", "password": "y"}).status_code == 200
    assert not _denials().exists()


def test_an_unexplained_refusal_is_recorded_with_its_status_as_reason(db):
    request = RequestFactory().get("/somewhere/7", REMOTE_ADDR="198.51.100.3")
    middleware = audit_context(lambda r: HttpResponse("no", status=403))
    assert middleware(request).status_code == 403
    event = _denials().get()
    assert event.detail == {
        "route": "unmatched",
        "method": "GET",
        "status": 403,
        "reason": "forbidden",
    }


def test_denials_are_still_recorded_when_the_cache_is_down(client, settings, db):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        }
    }
    for _ in range(2):
        assert client.get("/api/v1/documents").status_code == 401
    assert _denials().count() == 2  # unthinned rather than lost
