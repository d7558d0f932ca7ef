"""Every error under /api/ is JSON with the right status, with DEBUG on and off, and the OpenAPI
schema declares the errors each operation can really answer (portal/core/api_errors.py,
portal/api/openapi.py)."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError
from django.test import Client, RequestFactory

from portal.api.services import api_token_create
from portal.api.urls import _route_policies
from portal.core import api_errors
from portal.core.api_auth import UNSAFE_METHODS
from portal.core.ratelimit import rate_check_client
from tests.portal.factories import collection

QUESTION = "How long does passport renewal by mail take?"


@pytest.fixture(params=[False, True], ids=["production", "debug"])
def debug(request, settings):
    """Both ways the portal runs: DEBUG off (production) and on (development)."""
    settings.DEBUG = request.param
    return request.param


@pytest.fixture
def admin_token(make_user) -> dict:
    secret = api_token_create(owner=make_user("admin"), name="svc").secret
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def _json_error(response, status: int) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert isinstance(body["detail"], str | list) and body["detail"]
    assert "Traceback" not in response.content.decode()
    return body


# -- 1. JSON errors ------------------------------------------------------------------------------


def test_a_body_over_the_memory_limit_is_413_json(client, db, settings, debug):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = client.post("/api/v1/ask", {"question": "x" * 2000}, content_type="application/json")
    body = _json_error(response, 413)
    assert "too large" in body["detail"]


def test_too_many_form_fields_is_413_json(client, db, settings, debug, admin_token):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 5
    collection()
    fields = {f"extra{i}": "x" for i in range(10)}
    upload = SimpleUploadedFile("a.md", b"# A\n\ntext\n", content_type="text/markdown")
    response = client.post(
        "/api/v1/documents",
        {"collection": "public-services", "files": [upload], **fields},
        **admin_token,
    )
    assert "too many fields" in _json_error(response, 413)["detail"]


def test_too_many_files_is_413_json(client, db, settings, debug, admin_token):
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 2
    collection()
    uploads = [
        SimpleUploadedFile(f"{i}.md", b"# A\n", content_type="text/markdown") for i in range(3)
    ]
    response = client.post(
        "/api/v1/documents", {"collection": "public-services", "files": uploads}, **admin_token
    )
    assert "too many files" in _json_error(response, 413)["detail"]


def test_malformed_json_is_400_json(client, db, debug):
    response = client.post("/api/v1/ask", "{not json", content_type="application/json")
    assert "parse" in _json_error(response, 400)["detail"]


def test_an_unknown_api_route_is_404_json(client, db, debug):
    _json_error(client.get("/api/v1/no-such-thing"), 404)
    _json_error(client.post("/api/v1/no/such/thing", {}, content_type="application/json"), 404)


def test_a_wrong_method_is_405_json_with_allow(client, db, debug):
    response = client.delete("/api/v1/collections")
    _json_error(response, 405)
    assert "GET" in response["Allow"]


def test_validation_auth_and_permission_errors_are_json(client, db, debug, make_user):
    _json_error(client.post("/api/v1/ask", {}, content_type="application/json"), 422)
    _json_error(client.get("/api/v1/documents"), 401)
    client.force_login(make_user("staff"))
    _json_error(client.get("/api/v1/documents"), 403)


def test_a_bug_in_an_operation_is_500_json_without_traceback(db, debug, monkeypatch):
    def broken(user):
        raise RuntimeError("secret internals")

    monkeypatch.setattr("portal.qa.api.collections_visible_to", broken)
    response = Client(raise_request_exception=False).get("/api/v1/collections")
    body = _json_error(response, 500)
    assert "secret internals" not in response.content.decode()
    assert body["detail"] == "internal error"


def test_a_database_outage_in_an_operation_is_503_json_with_retry_after(db, debug, monkeypatch):
    def down(user):
        raise OperationalError("connection refused")

    monkeypatch.setattr("portal.qa.api.collections_visible_to", down)
    response = Client(raise_request_exception=False).get("/api/v1/collections")
    assert _json_error(response, 503)["down"] == ["database"]
    assert response["Retry-After"] == "5"


def test_pages_keep_their_html_errors(client, db, settings):
    settings.DEBUG = False
    missing = client.get("/no-such-page/")
    assert missing.status_code == 404 and missing["Content-Type"].startswith("text/html")
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    too_big = client.post("/", {"q": "x" * 2000})
    assert too_big.status_code == 400 and too_big["Content-Type"].startswith("text/html")


def test_djangos_handlers_answer_json_under_api_only(db):
    factory = RequestFactory()
    api_request = factory.post("/api/v1/ask")
    assert api_errors.bad_request(api_request, RequestDataTooBig("big")).status_code == 413
    assert api_errors.bad_request(api_request, TooManyFieldsSent("many")).status_code == 413
    assert api_errors.permission_denied(api_request, Exception()).status_code == 403
    assert api_errors.page_not_found(api_request, Exception())["Content-Type"].startswith(
        "application/json"
    )
    page = api_errors.page_not_found(factory.get("/nope/"), Exception())
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")


# -- 2. the schema's error responses ---------------------------------------------------------------

# The operations that spend a rate-limit budget: asking (three surfaces), uploading, drafting.
LIMITED = {
    ("/api/v1/ask", "post"): "ask",
    ("/api/v1/ask/stream", "post"): "ask",
    ("/api/v1/chat/completions", "post"): "ask",
    ("/api/v1/documents", "post"): "upload",
    ("/api/v1/drafts", "post"): "draft",
}


def _schema_path(route: str) -> str:
    return "/api/v1/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)


def _resolve(schema: dict, ref: str) -> dict:
    name = ref.removeprefix("#/components/schemas/")
    return schema["components"]["schemas"][name]


def test_every_operation_declares_the_errors_it_can_answer(client, db):
    schema = client.get("/api/v1/openapi.json").json()
    policies = {
        (_schema_path(route), method.lower()): policy
        for route, methods in _route_policies().items()
        for method, policy in methods.items()
    }
    operations = [
        (path, method, op) for path, ops in schema["paths"].items() for method, op in ops.items()
    ]
    assert {(p, m) for p, m, _ in operations} == set(policies)
    assert set(LIMITED) <= set(policies)
    for path, method, op in operations:
        where = f"{method.upper()} {path}"
        responses = {int(status): response for status, response in op["responses"].items()}
        public = policies[path, method] == ("public",)
        has_input = bool(op.get("parameters")) or "requestBody" in op
        assert 401 in responses, where  # a bad bearer token is refused even on public ones
        assert (403 in responses) == (not public or method.upper() in UNSAFE_METHODS), where
        assert (422 in responses) == has_input, where
        assert (413 in responses) == ("requestBody" in op), where
        assert ("requestBody" not in op) or 400 in responses, where
        assert (429 in responses) == ((path, method) in LIMITED), where
        for status, response in responses.items():
            if status < 400:
                continue
            body = response["content"]["application/json"]["schema"]
            shapes = [_resolve(schema, b["$ref"]) for b in body.get("oneOf", [body])]
            # {"detail": ...}, beside an operation's own 422 (the review edit's checks) at most.
            assert any("detail" in shape["properties"] for shape in shapes), (where, status)
            if status == 422:
                assert any(s["title"] == "ValidationErrorOut" for s in shapes), where
        if 429 in responses:
            limited = responses[429]
            assert "Retry-After" in limited["headers"], where
            ref = limited["content"]["application/json"]["schema"]["$ref"]
            assert "retry_after_s" in _resolve(schema, ref)["properties"], where


def test_each_operation_declared_limited_answers_429_once_its_budget_is_spent(
    client, settings, make_user
):
    settings.RATE_LIMIT_ASK_PER_MINUTE = 1
    settings.RATE_LIMIT_ASK_PER_MINUTE_ADDRESS = 0
    admin = make_user("admin")
    token = {"HTTP_AUTHORIZATION": "Bearer " + api_token_create(owner=admin, name="svc").secret}
    collection()
    requests = {
        ("/api/v1/ask", "post"): {"data": {"question": QUESTION}},
        ("/api/v1/ask/stream", "post"): {"data": {"question": QUESTION}},
        ("/api/v1/chat/completions", "post"): {
            "data": {"messages": [{"role": "user", "content": QUESTION}]}
        },
        ("/api/v1/drafts", "post"): {"data": {"template": "reply-letter", "facts": QUESTION}},
    }
    try:
        for (path, method), scope in LIMITED.items():
            cache.clear()
            # Spend the budget of the scope the schema names; the next call must be refused.
            rate_check_client(user=admin, address="127.0.0.1", scope=scope)
            if path == "/api/v1/documents":
                upload = SimpleUploadedFile("a.md", b"# A\n", content_type="text/markdown")
                response = client.post(
                    path, {"collection": "public-services", "files": [upload]}, **token
                )
            else:
                response = client.post(
                    path, requests[path, method]["data"], content_type="application/json", **token
                )
            assert response.status_code == 429, (path, response.content[:200])
            assert int(response["Retry-After"]) >= 1
            assert response.json()["retry_after_s"] >= 1
    finally:
        cache.clear()
