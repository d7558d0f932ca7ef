"""Readiness names what is down (503) and liveness stays up; outages answer 503, not 500."""

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
    assert body["status"] == "ready" and body["down"] == []
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
