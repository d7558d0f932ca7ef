"""Every /api/v1/ route declares who may use it, and no role gets an unauthorized 2xx from any.

The walk reads the routes from the URL patterns (ninja's per-method policies stamped by
portal/api/urls.py), fills path parameters with real objects so a route that forgot its check
would answer 2xx rather than 404, and calls each method as every role, by session and by token.
"""

from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from portal.accounts.roles import ROLE_PERMISSIONS, Role
from portal.api.services import api_token_create
from portal.drafting.models import DraftTemplate
from portal.drafting.services import draft_create
from portal.knowledge.models import Document
from portal.qa.models import AnswerStatus
from portal.qa.services import answer_run
from tests.portal.factories import PASSPORT_MD, ingest
from tests.streams import stream_bytes

ROLES = [None, "staff", "reviewer", "admin"]


def _api_routes():
    def walk(patterns, prefix=""):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                yield from walk(entry.url_patterns, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern):
                yield prefix + str(entry.pattern), entry

    seen = {}
    for route, pattern in walk(get_resolver().url_patterns):
        if route.startswith("api/v1/"):
            seen[route] = pattern.callback
    return seen


@pytest.fixture
def objects(db, make_user):
    """Real objects for every kind of path parameter."""
    ingest(PASSPORT_MD, filename="passport.md", title="Passport renewal")
    answer = answer_run(question="How long does passport renewal by mail take?").answer
    answer.status = AnswerStatus.HELD
    answer.save(update_fields=["status"])
    author = make_user("staff", username="draft-author")
    draft = draft_create(
        template=DraftTemplate.objects.get(slug="reply-letter"),
        facts="Can adults renew a passport by mail, and how long does it take?",
        user=author,
    )
    document = Document.objects.get()
    return {
        "answer_id": str(answer.public_id),
        "document_id": str(document.pk),
        "job_id": str(document.versions.get().job.pk),
        "draft_id": str(draft.public_id),
    }


def _concrete(route: str, objects: dict) -> str:
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: objects[m.group(1)], route)


def test_every_api_route_has_a_policy_per_method(db):
    routes = _api_routes()
    assert len(routes) > 15
    for route, callback in routes.items():
        assert hasattr(callback, "access_policy"), route
        for method, policy in callback.api_policies.items():
            assert policy[0] in ("public", "requires"), (route, method)
            assert all(p in {x for ps in ROLE_PERMISSIONS.values() for x in ps} for p in policy[1:])


CALLERS = [(None, "anonymous")] + [(r, m) for r in ROLES[1:] for m in ("session", "token")]


@pytest.mark.parametrize(("role", "mode"), CALLERS)
def test_no_unauthorized_2xx_on_any_api_route(client, make_user, objects, role, mode):
    headers = {}
    if role:
        user = make_user(role, username=f"walker-{role}")
        if mode == "session":
            client.force_login(user)
        else:
            secret = api_token_create(owner=user, name="walk").secret
            headers["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    granted = set(ROLE_PERMISSIONS.get(Role(role), ())) if role else set()
    checked = 0
    # Deletes last, so the other routes still find the document.
    calls = sorted(
        (
            (method, route, policy)
            for route, callback in _api_routes().items()
            for method, policy in callback.api_policies.items()
        ),
        key=lambda c: c[0] == "DELETE",
    )
    for method, route, policy in calls:
        path = _concrete(route, objects)
        if method == "GET":
            response = client.get(path, **headers)
        else:
            response = client.generic(method, path, "{}", "application/json", **headers)
        if method == "POST" and "stream" in route and response.streaming:
            stream_bytes(response)
        checked += 1
        allowed = policy[0] == "public" or set(policy[1:]) <= granted
        who = f"{role or 'anonymous'} ({mode})"
        if allowed:
            assert response.status_code not in (401, 403), (
                f"{who} was refused {method} {path}: {response.status_code}"
            )
        else:
            assert response.status_code in (401, 403), (
                f"{who} got {response.status_code} on {method} {path}"
            )
            if not role:
                assert response.status_code == 401
    assert checked > 20
