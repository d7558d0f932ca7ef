"""/metrics: protected, and it reports what operators alert on from real requests and answers."""

from __future__ import annotations

import io
import json
import logging

import pytest
import redis
from django.http import HttpResponse
from django.test import RequestFactory

from portal.core.jobs import deployment_queues
from portal.core.logs import JsonFormatter, RequestIdFilter
from portal.core.middleware import observability
from portal.core.requestid import request_id_get, task_headers_add
from tests.portal.factories import PASSPORT_MD, ingest

QUESTION = "How long does passport renewal by mail take?"


@pytest.fixture
def knowledge(db):
    ingest(PASSPORT_MD, filename="passport.md", title="Passport renewal")


def _value(text: str, line_start: str) -> float:
    for line in text.splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{line_start!r} not in metrics")


def test_metrics_refused_outside_the_allow_list(client, db, settings):
    settings.METRICS_ALLOWED_IPS = ["127.0.0.1/32"]
    settings.METRICS_BEARER_TOKEN = "s3cret-token-for-prometheus"
    outside = {"REMOTE_ADDR": "203.0.113.7"}
    assert client.get("/metrics", **outside).status_code == 403
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer nope", **outside)
    assert wrong.status_code == 403
    right = client.get(
        "/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token-for-prometheus", **outside
    )
    assert right.status_code == 200
    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8"]
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200


def test_metrics_through_a_proxy_need_the_token(client, db, settings):
    # The k8s nginx sidecar relays public requests from 127.0.0.1: its address proves nothing.
    settings.METRICS_ALLOWED_IPS = ["127.0.0.1/32"]
    settings.METRICS_BEARER_TOKEN = "s3cret-token-for-prometheus"
    relayed = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "198.51.100.4"}
    assert client.get("/metrics", **relayed).status_code == 403
    token = "Bearer s3cret-token-for-prometheus"
    assert client.get("/metrics", HTTP_AUTHORIZATION=token, **relayed).status_code == 200
    assert client.get("/metrics").status_code == 200  # direct from 127.0.0.1


def test_metrics_report_answers_steps_routes_queues_and_index(client, knowledge, settings):
    # A Redis database of its own: a session's real Celery worker (tests/conftest.py) consumes the
    # suite's broker queues and would take these placeholder messages before the scrape.
    settings.CELERY_BROKER_URL = settings.CELERY_BROKER_URL.rsplit("/", 1)[0] + "/12"
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    ingestion = deployment_queues()["ingestion"]  # "<DEPLOYMENT_NAME>.ingestion"
    broker.delete(ingestion, "another-portal.ingestion")
    broker.rpush(ingestion, b"{}", b"{}")  # two waiting tasks
    broker.rpush("another-portal.ingestion", b"{}")  # another deployment's: not counted
    before = client.get("/metrics").content.decode()
    answered_before = _sum(before, 'portal_answers_total{reason="",status="answered"}')

    assert _ask(client, QUESTION).json()["status"] == "answered"
    assert _ask(client, "How do I repair a tractor engine?").status_code == 200

    text = client.get("/metrics").content.decode()
    broker.delete(ingestion, "another-portal.ingestion")
    assert _sum(text, 'portal_answers_total{reason="",status="answered"}') == answered_before + 1
    assert _value(text, 'portal_answers_total{reason="no_support",status="refused"}') >= 1
    assert _value(text, 'portal_answer_step_seconds_count{step="retrieve"}') >= 2
    assert _value(text, 'portal_answer_step_seconds_count{step="total"}') >= 2
    assert (
        _value(text, 'portal_http_request_duration_seconds_count{method="POST",route="api/v1/ask"')
        >= 2
    )
    assert _value(text, 'portal_queue_length{queue="ingestion"}') == 2
    assert _value(text, "portal_redis_up") == 1
    assert _value(text, "portal_database_up") == 1
    assert _value(text, 'portal_index_version{model="use-multilingual"}') >= 1
    assert _value(text, 'portal_index_vectors{model="use-multilingual"}') >= 1
    assert _value(text, 'portal_ingestion_jobs_finished_total{status="done"}') == 1
    assert _value(text, "portal_keyword_index_chunks") >= 1


def _ask(client, question: str):
    return client.post("/api/v1/ask", {"question": question}, content_type="application/json")


def _sum(text: str, prefix: str) -> float:
    try:
        return _value(text, prefix)
    except AssertionError:
        return 0.0


def test_reviewer_saves_do_not_count_an_answer_twice(client, knowledge):
    from portal.qa.models import Answer

    _ask(client, QUESTION)
    before = client.get("/metrics").content.decode()
    answer = Answer.objects.latest("created_at")
    answer.save(update_fields=["status"])  # what review decisions do
    after = client.get("/metrics").content.decode()
    key = 'portal_answer_step_seconds_count{step="total"}'
    assert _value(after, key) == _value(before, key)


def test_request_id_passes_through_and_reaches_json_logs():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    log = logging.getLogger("tests.request_id")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    seen = []

    def view(request):
        seen.append(request_id_get())
        log.info("answering", extra={"step": "retrieve"})
        return HttpResponse("ok")

    try:
        request = RequestFactory().get("/x", HTTP_X_REQUEST_ID="abc-123-def-456")
        response = observability(view)(request)
        fresh = observability(view)(RequestFactory().get("/x", HTTP_X_REQUEST_ID="bad id\n!"))
    finally:
        log.removeHandler(handler)
    assert response["X-Request-ID"] == "abc-123-def-456" == seen[0]
    assert request_id_get() == ""  # reset after the request
    first = json.loads(stream.getvalue().splitlines()[0])
    assert first["request_id"] == "abc-123-def-456"
    assert first["message"] == "answering" and first["step"] == "retrieve"
    assert first["level"] == "INFO" and first["ts"].endswith("Z")
    # A header that is not a plain token is replaced, never echoed into logs.
    assert fresh["X-Request-ID"] == seen[1] != "bad id\n!" and len(seen[1]) == 32


def test_request_id_is_stamped_on_published_tasks_and_adopted_by_the_task(settings):
    from celery import shared_task

    from portal.core.requestid import request_id_reset, request_id_set

    @shared_task(name="tests.request_id_echo")
    def echo():
        return request_id_get()

    token = request_id_set("req-0001-abcd")
    try:
        headers: dict = {}
        task_headers_add(headers=headers)
        assert headers == {"request_id": "req-0001-abcd"}
        # Worker side: the real task_prerun/postrun signals (eager apply fires them too).
        assert echo.apply(headers={"request_id": "req-0002-wxyz"}).get() == "req-0002-wxyz"
        assert request_id_get() == "req-0001-abcd"  # restored after the task
    finally:
        request_id_reset(token)
