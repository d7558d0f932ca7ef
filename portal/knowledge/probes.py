"""What the knowledge base tells operators: the index part of /health/ready and the ingestion and
index gauges of /metrics. Registered with core in ``KnowledgeConfig.ready()``."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from django.conf import settings
from django.db.models import Count
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from portal.knowledge.models import Chunk, IngestionJob, KeywordIndex, VectorIndex


def index_probe() -> dict:
    """Readiness of the search index: stored, its files present, loaded in this process."""
    # Imported here: indexing loads FAISS and NumPy, which a process that never serves a search
    # (a management command, a worker) should not pay for at start-up.
    from portal.knowledge.indexing import index_state, keyword_index_state, loaded_indexes

    model = settings.EMBEDDING_MODEL
    version, path = index_state(model)
    keyword_path = keyword_index_state()
    if not path:
        # A fresh deployment with no documents yet is ready (answers refuse honestly); chunks
        # without an index mean the index was lost: run `manage.py rebuild_index`.
        empty = not Chunk.objects.exists()
        return {
            "ok": empty,
            "version": 0,
            "model": model,
            **({} if empty else {"error": "chunks stored but no index: run rebuild_index"}),
        }
    missing = [p for p in (path, keyword_path) if p and not Path(p).exists()]
    if missing:
        return {"ok": False, "version": version, "error": f"index files missing: {missing}"}
    loaded = loaded_indexes.get(model)  # loads (or reloads) the current version in this process
    return {
        "ok": loaded is not None,
        "version": version,
        "model": model,
        "vectors": int(getattr(loaded, "ntotal", 0)),
        "file": Path(path).name,
    }


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation)
    family.add_metric([], value)
    return family


class KnowledgeStateCollector:
    """Ingestion job counts, stored chunks and index versions and sizes, read at scrape time."""

    def collect(self) -> Iterable[Metric]:
        jobs = dict(IngestionJob.objects.values_list("status").annotate(n=Count("id")).order_by())
        vectors = list(VectorIndex.objects.values_list("model", "version", "size"))
        keyword = KeywordIndex.objects.filter(pk=1).values_list("version", "size").first()
        chunks = Chunk.objects.count()
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
