"""Readiness names what is down (503) to operators and gives everyone else the bare status;
liveness stays up; outages answer 503, not 500.

The test client connects from 127.0.0.1, in the default METRICS_ALLOWED_IPS: an operator."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import OperationalError
from django.test import RequestFactory

from portal.core.views import server_error
from portal.knowledge.models import VectorIndex
from portal.qa.backends import backends_reset, generation_backend
from tests.portal.factories import PASSPORT_MD, ingest


@pytest.fixture
def knowledge(db):
    ingest(PASSPORT_MD, filename="passport.md", title="Passport renewal")


@pytest.fixture
def clean_backends():
    backends_reset()
    yield
    backends_reset()


def test_live_is_ok_without_checking_anything(client):
    response = client.get("/health/live")
    assert response.status_code == 200 and response.content == b"ok"


def test_ready_reports_each_part_and_the_loaded_index_version(client, knowledge, clean_backends):
    response = client.get("/health/ready")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok" and body["down"] == []
    assert body["database"]["ok"] and body["redis"]["ok"] and body["model"]["ok"]
    state = VectorIndex.objects.get()
    assert body["index"]["version"] == state.version >= 1
    assert body["index"]["vectors"] == state.size > 0


def test_ready_on_an_empty_knowledge_base(client, db, clean_backends):
    body = client.get("/health/ready").json()
    assert body["index"] == {**body["index"], "ok": True, "version": 0}


def test_ready_503_names_redis_when_it_is_down(client, knowledge, settings, clean_backends):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/health/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["down"] == ["redis"] and "rror" in body["redis"]["error"]


def test_ready_503_names_the_index_when_its_file_is_gone(client, knowledge, clean_backends):
    Path(VectorIndex.objects.get().path).unlink()
    response = client.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["down"] == ["index"]
    assert "missing" in response.json()["index"]["error"]


def test_ready_503_names_the_model_when_it_cannot_load(
    client, knowledge, settings, tmp_path, clean_backends
):
    # Given a configured GGUF file that does not exist, the real loader fails (answers fall
    # back to quoting passages) and readiness says why.
    settings.LLM_BACKEND = "llamacpp"
    settings.LLM_BACKEND_CONFIG = {"kind": "llamacpp", "model_path": str(tmp_path / "no.gguf")}
    generation_backend()
    response = client.get("/health/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["down"] == ["model"] and body["model"]["backend"] == "llamacpp"
    assert "no.gguf" in body["model"]["error"]


OUTSIDE = {"REMOTE_ADDR": "203.0.113.9"}
# The k8s nginx sidecar relays every public request from 127.0.0.1, after the ingress.
THROUGH_PROXIES = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "198.51.100.4, 10.2.3.4"}


@pytest.mark.parametrize("caller", [OUTSIDE, THROUGH_PROXIES], ids=["outside", "via-proxies"])
def test_ready_shows_others_only_the_status(client, knowledge, clean_backends, caller):
    response = client.get("/health/ready", **caller)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.parametrize("caller", [OUTSIDE, THROUGH_PROXIES], ids=["outside", "via-proxies"])
def test_ready_503_shows_others_no_part_names_urls_or_paths(
    client, knowledge, settings, clean_backends, caller
):
    Path(VectorIndex.objects.get().path).unlink()
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/health/ready", **caller)
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert response.json() == {"status": "unavailable"}
    for detail in (b"redis", b"index", b"127.0.0.1:1", str(settings.INDEX_DIR).encode()):
        assert detail not in response.content


def test_live_is_public(client):
    response = client.get("/health/live", **OUTSIDE)
    assert response.status_code == 200 and response.content == b"ok"


def test_ready_details_for_the_metrics_token_or_an_allowed_network(
    client, knowledge, settings, clean_backends
):
    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8"]
    settings.METRICS_BEARER_TOKEN = "s3cret-token-for-prometheus"
    with_token = client.get(
        "/health/ready", HTTP_AUTHORIZATION="Bearer s3cret-token-for-prometheus", **THROUGH_PROXIES
    ).json()
    assert with_token["status"] == "ok" and with_token["index"]["version"] >= 1
    scraper = client.get("/health/ready", REMOTE_ADDR="10.1.2.3").json()
    assert scraper["down"] == [] and scraper["database"]["ok"]
    wrong_token = client.get("/health/ready", HTTP_AUTHORIZATION="Bearer nope", **OUTSIDE)
    assert wrong_token.json() == {"status": "ok"}


def test_database_outage_is_503_with_retry_after():
    request = RequestFactory().get("/api/v1/collections")
    try:
        raise OperationalError("connection refused")
    except OperationalError:
        response = server_error(request)
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert b'"database"' in response.content


def test_other_errors_stay_500():
    request = RequestFactory().get("/api/v1/collections")
    try:
        raise KeyError("bug")
    except KeyError:
        response = server_error(request)
    assert response.status_code == 500
