"""Prometheus metrics: what operators alert on.

Two kinds:
- event metrics recorded where things happen (request latency by route, answer step latency,
  answer outcomes, generation tokens/s, rate-limit refusals). Under gunicorn several worker
  processes record them, so with PROMETHEUS_MULTIPROC_DIR set (deploy/gunicorn.conf.py sets it)
  prometheus-client writes them to shared files and /metrics merges them;
- state read at scrape time from the shared sources of truth (Celery queue lengths in Redis,
  ingestion job counts, index versions and sizes in the database), so every replica reports the
  same numbers without any process having to see the events itself (ingestion runs in workers).
  Core reads the queues and whether the database answers; the apps that own the tables register
  collectors for the rest (``state_collector_register`` in their ``AppConfig.ready()``).
"""

from __future__ import annotations

import ipaddress
import logging
import os
from collections.abc import Iterable
from typing import Protocol

from django.conf import settings
from django.http import HttpRequest
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric

logger = logging.getLogger(__name__)


class Collector(Protocol):
    def collect(self) -> Iterable[Metric]: ...


_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

http_request_seconds = Histogram(
    "portal_http_request_duration_seconds",
    "Time to the response object (streams: to the first byte), by URL route",
    ["method", "route", "status"],
    buckets=_LATENCY_BUCKETS,
)
answer_step_seconds = Histogram(
    "portal_answer_step_seconds",
    "Answer pipeline step durations (Answer.timings), observed when an answer is finished",
    ["step"],
    buckets=_LATENCY_BUCKETS,
)
answers_total = Counter(
    "portal_answers", "Finished answers by status and refusal reason", ["status", "reason"]
)
generation_tokens_per_second = Histogram(
    "portal_generation_tokens_per_second",
    "Completion tokens / generate-step seconds per answer",
    ["backend"],
    buckets=(1, 2, 5, 10, 20, 40, 80, 160, 320, 640),
)
rate_limited_total = Counter("portal_rate_limited", "Requests answered 429", ["scope"])

# kombu's Redis transport keeps priorities 3, 6 and 9 in sibling lists "<queue>\x06\x16<p>".
_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")


def rate_limited_count(scope: str) -> None:
    rate_limited_total.labels(scope).inc()


def request_observe(*, method: str, route: str, status: int, seconds: float) -> None:
    http_request_seconds.labels(method, route, f"{status // 100}xx").observe(seconds)


def answer_observe(sender, instance, created: bool = False, update_fields=None, **_kw) -> None:
    """post_save receiver for qa.Answer: record a finished answer once.

    The pipeline creates the row as pending and saves it whole once it is finished; reviewer
    decisions later save with update_fields, and must not count the same answer twice.
    """
    if created or update_fields is not None or instance.status == "pending":
        return
    timings = instance.timings or {}
    if "total" not in timings:
        return
    for step, seconds in timings.items():
        if isinstance(seconds, int | float):
            answer_step_seconds.labels(step).observe(float(seconds))
    answers_total.labels(instance.status, instance.refusal_reason or "").inc()
    generated = timings.get("generate")
    if instance.completion_tokens and isinstance(generated, int | float) and generated > 0:
        generation_tokens_per_second.labels(instance.backend or "unknown").observe(
            instance.completion_tokens / generated
        )


def queue_lengths(client=None) -> dict[str, int]:
    """Messages waiting in this deployment's Celery queues (Redis list lengths, all priorities),
    by kind of work ("ingestion", "default"): the label stays the same in every deployment."""
    import redis

    from portal.core.jobs import deployment_queues

    client = client or redis.Redis.from_url(
        settings.CELERY_BROKER_URL, socket_timeout=1, socket_connect_timeout=1
    )
    queues = deployment_queues()
    pipe = client.pipeline()
    for queue in queues.values():
        for suffix in _PRIORITY_SUFFIXES:
            pipe.llen(queue + suffix)
    counts = pipe.execute()
    step = len(_PRIORITY_SUFFIXES)
    return {kind: int(sum(counts[i * step : (i + 1) * step])) for i, kind in enumerate(queues)}


_state_collectors: dict[str, Collector] = {}


def state_collector_register(name: str, collector: Collector) -> None:
    """Add scrape-time metrics read from the database (call from ``AppConfig.ready()``): an
    object whose ``collect()`` yields metric families, as a prometheus-client collector does. It
    runs at every scrape while the database answers; registering a name again replaces it."""
    _state_collectors[name] = collector


class PortalStateCollector:
    """Scrape-time gauges from Redis and the database (shared state, same on every replica): the
    queue lengths and whether the database answers here, the rest from registered collectors."""

    def collect(self) -> Iterable[Metric]:
        yield from self._queues()
        yield from self._database()

    def _queues(self) -> Iterable[Metric]:
        import redis

        up = GaugeMetricFamily("portal_redis_up", "1 when the Celery broker answered the scrape")
        depth = GaugeMetricFamily(
            "portal_queue_length", "Tasks waiting in a Celery queue", labels=["queue"]
        )
        try:
            for queue, count in queue_lengths().items():
                depth.add_metric([queue], count)
            up.add_metric([], 1)
            yield depth
        except (redis.RedisError, OSError) as exc:
            logger.warning("metrics: broker unreachable: %s", exc)
            up.add_metric([], 0)
        yield up

    def _database(self) -> Iterable[Metric]:
        from django.db import DatabaseError, connection

        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
        except DatabaseError as exc:
            logger.warning("metrics: database unreachable: %s", exc)
            yield _gauge("portal_database_up", "1 when the database answered the scrape", 0)
            return
        yield _gauge("portal_database_up", "1 when the database answered the scrape", 1)
        for name, collector in _state_collectors.items():
            try:
                # Whole families or none: a collector that fails half-way adds nothing.
                families = list(collector.collect())
            except DatabaseError as exc:
                logger.warning("metrics: %s collector failed: %s", name, exc)
                continue
            yield from families


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation)
    family.add_metric([], value)
    return family


def metrics_exposition() -> tuple[bytes, str]:
    """The text a scrape returns: event metrics (merged across processes) + shared state."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        events = CollectorRegistry()
        multiprocess.MultiProcessCollector(events)
    else:
        events = REGISTRY
    state = CollectorRegistry()
    state.register(PortalStateCollector())
    return generate_latest(events) + generate_latest(state), CONTENT_TYPE_LATEST


def metrics_access_allowed(request: HttpRequest) -> bool:
    """Operators only: a bearer token from METRICS_BEARER_TOKEN, or a direct connection from an
    address in METRICS_ALLOWED_IPS. Guards /metrics and the detailed /health/ready.

    The address is REMOTE_ADDR, never X-Forwarded-For; and a request that came through a proxy
    (it carries X-Forwarded-For, which nginx and the ingress always append) is not trusted by
    address at all: REMOTE_ADDR is then the proxy's, and the k8s nginx sidecar connects from
    127.0.0.1, which the allow-list holds for `kubectl exec` and local checks. Prometheus and the
    kubelet reach the pods directly; through a proxy, only the token is accepted.
    """
    import hmac

    token = settings.METRICS_BEARER_TOKEN
    authorization = request.headers.get("Authorization", "")
    presented = authorization[7:].strip() if authorization.startswith("Bearer ") else ""
    if token and presented and hmac.compare_digest(presented.encode(), token.encode()):
        return True
    if "HTTP_X_FORWARDED_FOR" in request.META:
        return False
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    for allowed in settings.METRICS_ALLOWED_IPS:
        try:
            if address in ipaddress.ip_network(allowed, strict=False):
                return True
        except ValueError:
            logger.warning("METRICS_ALLOWED_IPS entry %r is not an address or network", allowed)
    return False
