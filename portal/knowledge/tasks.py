"""Celery tasks for the knowledge base: take ids, call one service, nothing else."""

from celery import shared_task

from portal.knowledge import indexing, pipeline, services


@shared_task(name="knowledge.ingest_version", acks_late=True, reject_on_worker_lost=True)
def ingest_version_task(job_id: int) -> str:
    return pipeline.ingestion_run(job_id=job_id).status


@shared_task(name="knowledge.sync_indexes", acks_late=True)
def sync_indexes_task() -> int:
    return indexing.indexes_sync().version


@shared_task(name="knowledge.reconcile_ingestion")
def reconcile_ingestion_task() -> int:
    return len(services.ingestion_reconcile())
