"""A page that fails shows the portal's own error page (issue 23 part 8): no traceback, no
internals, in the reader's language; an outage is 503 with Retry-After; the API keeps its JSON
(portal/core/api_errors.py, portal/core/views.py, portal/templates/500.html)."""

from __future__ import annotations

import pytest
from django.db import OperationalError
from django.test import Client


@pytest.fixture
def production(settings):
    settings.DEBUG = False
    return Client(raise_request_exception=False)


def _broken(exc: Exception):
    def view_helper(**kwargs):
        raise exc

    return view_helper


def test_a_page_that_raises_shows_the_portals_500_page(db, production, monkeypatch):
    monkeypatch.setattr(
        "portal.qa.views.collections_for_reader", _broken(RuntimeError("secret internals"))
    )
    response = production.get("/")
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")
    body = response.content.decode()
    assert "<h1>Something went wrong</h1>" in body and 'href="/"' in body
    assert "secret internals" not in body and "Traceback" not in body
    assert "RuntimeError" not in body


def test_the_500_page_is_in_the_readers_language(db, production, monkeypatch):
    monkeypatch.setattr("portal.qa.views.collections_for_reader", _broken(RuntimeError("bug")))
    body = production.get("/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9").content.decode()
    assert "<h1>出错了</h1>" in body and 'lang="zh-Hans"' in body


def test_an_outage_under_a_page_is_503_with_retry_after(db, production, monkeypatch):
    monkeypatch.setattr(
        "portal.qa.views.collections_for_reader", _broken(OperationalError("connection refused"))
    )
    response = production.get("/")
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert response["Content-Type"].startswith("text/html")
    assert "Something went wrong" in response.content.decode()


def test_the_api_still_answers_json(db, production, monkeypatch):
    monkeypatch.setattr("portal.qa.api.collections_visible_to", _broken(RuntimeError("secret")))
    response = production.get("/api/v1/collections")
    assert response.status_code == 500
    assert response.json() == {"detail": "internal error"}
    # A page's script that asked for JSON gets JSON too, not the HTML page.
    monkeypatch.setattr("portal.qa.views.collections_for_reader", _broken(RuntimeError("bug")))
    scripted = production.get("/", HTTP_ACCEPT="application/json")
    assert scripted.status_code == 500 and scripted.json() == {"error": "internal error"}
