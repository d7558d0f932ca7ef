"""The ask surfaces (the API, its stream and the ask page's form) answer 429 with Retry-After once a
caller passes its per-minute budget, which they share."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import RequestFactory

from portal.core.ratelimit import rate_check
from tests.portal.factories import PASSPORT_MD, ingest

QUESTION = "How long does passport renewal by mail take?"


@pytest.fixture
def limits(settings):
    settings.RATE_LIMIT_ASK_PER_MINUTE = 3
    settings.RATE_LIMIT_ASK_PER_MINUTE_ADDRESS = 5
    cache.clear()
    yield settings
    cache.clear()


@pytest.fixture
def knowledge(db):
    ingest(PASSPORT_MD, filename="passport.md", title="Passport renewal")


def _api(client, path: str = "/api/v1/ask"):
    return client.post(path, {"question": QUESTION}, content_type="application/json")


def test_fourth_question_in_a_minute_is_429_with_retry_after(client, limits, knowledge):
    statuses = [_api(client).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = _api(client, "/api/v1/ask/stream")  # same budget for the stream
    assert refused.status_code == 429
    retry = int(refused["Retry-After"])
    assert 1 <= retry <= 60
    assert refused.json()["retry_after_s"] == retry


def test_the_ask_pages_form_spends_the_same_budget(client, limits, knowledge):
    from portal.qa.models import Answer

    statuses = [client.post("/", {"q": QUESTION}).status_code for _ in range(3)]
    assert statuses == [302, 302, 302]  # each to its answer's page
    refused = client.post("/", {"q": QUESTION})
    assert refused.status_code == 429 and 1 <= int(refused["Retry-After"]) <= 60
    body = refused.content.decode()
    assert "Too many questions" in body and f">{QUESTION}</textarea>" in body  # kept to retry
    assert Answer.objects.count() == 3
    # The budget is one: the API and its stream are refused too, and the other way round.
    assert _api(client).status_code == 429
    assert _api(client, "/api/v1/ask/stream").status_code == 429
    cache.clear()
    assert [_api(client).status_code for _ in range(3)] == [200, 200, 200]
    assert client.post("/", {"q": QUESTION}).status_code == 429


def test_budgets_are_per_user_and_per_address(limits, make_user):
    factory = RequestFactory()
    now = 1_000_000 * 60.0 + 1  # one second into a window

    def ask(user, address):
        request = factory.get("/api/v1/ask", REMOTE_ADDR=address)
        request.user = user
        return rate_check(request, scope="ask", now=now).allowed

    from django.contrib.auth.models import AnonymousUser

    alice, bob = make_user(None, "alice"), make_user(None, "bob")
    # Given alice used her 3, then bob is still allowed from the same address...
    assert [ask(alice, "10.0.0.1") for _ in range(4)] == [True, True, True, False]
    assert ask(bob, "10.0.0.1") is True
    # ...until the address budget (5 allowed requests; refused ones do not count) is spent for
    # everyone behind it, though bob has one of his own 3 left.
    assert ask(bob, "10.0.0.1") is True
    assert ask(bob, "10.0.0.1") is False
    # Another address has its own budgets.
    assert ask(AnonymousUser(), "10.0.0.2") is True


def test_new_window_resets_the_count(limits):
    from django.contrib.auth.models import AnonymousUser

    request = RequestFactory().get("/api/v1/ask", REMOTE_ADDR="10.0.0.9")
    request.user = AnonymousUser()
    start = 2_000_000 * 60.0
    results = [rate_check(request, scope="ask", now=start + 1).allowed for _ in range(4)]
    assert results[-1] is False
    decision = rate_check(request, scope="ask", now=start + 61)
    assert decision.allowed is True


def test_retry_after_counts_down_to_the_window_end(limits):
    from django.contrib.auth.models import AnonymousUser

    request = RequestFactory().get("/api/v1/ask", REMOTE_ADDR="10.0.0.10")
    request.user = AnonymousUser()
    start = 3_000_000 * 60.0
    for _ in range(3):
        rate_check(request, scope="ask", now=start + 45)
    decision = rate_check(request, scope="ask", now=start + 45)
    assert not decision.allowed and decision.retry_after_s == 15


def test_limiter_fails_open_when_the_cache_is_down(settings, db):
    from django.contrib.auth.models import AnonymousUser

    settings.RATE_LIMIT_ASK_PER_MINUTE = 3

    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        }
    }
    request = RequestFactory().get("/api/v1/ask", REMOTE_ADDR="10.0.0.11")
    request.user = AnonymousUser()
    assert all(rate_check(request, scope="ask").allowed for _ in range(5))


def test_limits_off_when_zero(settings, db):
    from django.contrib.auth.models import AnonymousUser

    settings.RATE_LIMIT_ASK_PER_MINUTE = 0
    settings.RATE_LIMIT_ASK_PER_MINUTE_ADDRESS = 0
    request = RequestFactory().get("/api/v1/ask", REMOTE_ADDR="10.0.0.12")
    request.user = AnonymousUser()
    assert all(rate_check(request, scope="ask").allowed for _ in range(50))
