"""Prometheus metrics: what operators alert on.

Two kinds:
- event metrics recorded where things happen (request latency by route, answer step latency,
  answer outcomes, generation tokens/s, rate-limit refusals). Under gunicorn several worker
  processes record them, so with PROMETHEUS_MULTIPROC_DIR set (deploy/gunicorn.conf.py sets it)
  prometheus-client writes them to shared files and /metrics merges them;
- state read at scrape time from the shared sources of truth (Celery queue lengths in Redis,
  ingestion job counts, index versions and sizes in the database), so every replica reports the
  same numbers without any process having to see the events itself (ingestion runs in workers).
"""

from __future__ import annotations

import ipaddress
import logging
import os
from collections.abc import Iterable

from django.conf import settings
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

logger = logging.getLogger(__name__)

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

QUEUES = ("ingestion", "generation", "default")
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
    """Messages waiting per Celery queue (Redis list lengths, all priorities)."""
    import redis

    client = client or redis.Redis.from_url(
        settings.CELERY_BROKER_URL, socket_timeout=1, socket_connect_timeout=1
    )
    pipe = client.pipeline()
    for queue in QUEUES:
        for suffix in _PRIORITY_SUFFIXES:
            pipe.llen(queue + suffix)
    counts = pipe.execute()
    step = len(_PRIORITY_SUFFIXES)
    return {q: int(sum(counts[i * step : (i + 1) * step])) for i, q in enumerate(QUEUES)}


class PortalStateCollector:
    """Scrape-time gauges from Redis and the database (shared state, same on every replica)."""

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
        from django.db import DatabaseError
        from django.db.models import Count

        from portal.knowledge.models import Chunk, IngestionJob, KeywordIndex, VectorIndex

        try:
            jobs = dict(
                IngestionJob.objects.values_list("status").annotate(n=Count("id")).order_by()
            )
            vectors = list(VectorIndex.objects.values_list("model", "version", "size"))
            keyword = KeywordIndex.objects.filter(pk=1).values_list("version", "size").first()
            chunks = Chunk.objects.count()
        except DatabaseError as exc:
            logger.warning("metrics: database unreachable: %s", exc)
            yield _gauge("portal_database_up", "1 when the database answered the scrape", 0)
            return
        yield _gauge("portal_database_up", "1 when the database answered the scrape", 1)
        # Counts of finished jobs only grow (jobs are kept), so Prometheus can rate() them:
        # rate(portal_ingestion_jobs_finished_total[5m]) is the ingestion rate per status.
        finished = CounterMetricFamily(
            "portal_ingestion_jobs_finished", "Ingestion jobs finished", labels=["status"]
        )
        for status in ("done", "failed"):
            finished.add_metric([status], jobs.get(status, 0))
        yield finished
        pending = GaugeMetricFamily(
            "portal_ingestion_jobs_open", "Ingestion jobs not finished", labels=["status"]
        )
        for status in ("queued", "running"):
            pending.add_metric([status], jobs.get(status, 0))
        yield pending
        yield _gauge("portal_chunks", "Stored chunks (all versions)", chunks)
        version = GaugeMetricFamily(
            "portal_index_version", "Current dense index version", labels=["model"]
        )
        size = GaugeMetricFamily(
            "portal_index_vectors", "Vectors in the current dense index", labels=["model"]
        )
        for model, number, count in vectors:
            version.add_metric([model], number)
            size.add_metric([model], count)
        yield version
        yield size
        keyword_version, keyword_size = keyword or (0, 0)
        yield _gauge("portal_keyword_index_version", "BM25 index version", keyword_version)
        yield _gauge("portal_keyword_index_chunks", "Chunks in the BM25 index", keyword_size)


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


def metrics_access_allowed(*, remote_addr: str, authorization: str) -> bool:
    """A bearer token from METRICS_BEARER_TOKEN, or an address in METRICS_ALLOWED_IPS.

    REMOTE_ADDR only, never X-Forwarded-For: Prometheus scrapes the pods directly, and nginx
    refuses /metrics from outside (deploy/nginx/portal.conf).
    """
    import hmac

    token = settings.METRICS_BEARER_TOKEN
    presented = authorization[7:].strip() if authorization.startswith("Bearer ") else ""
    if token and presented and hmac.compare_digest(presented.encode(), token.encode()):
        return True
    try:
        address = ipaddress.ip_address(remote_addr)
    except ValueError:
        return False
    for allowed in settings.METRICS_ALLOWED_IPS:
        try:
            if address in ipaddress.ip_network(allowed, strict=False):
                return True
        except ValueError:
            logger.warning("METRICS_ALLOWED_IPS entry %r is not an address or network", allowed)
    return False
