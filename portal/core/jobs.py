"""Enqueueing background work safely.

A task must never be sent while the transaction that created its rows is still open: the worker
could read before the commit (or after a rollback) and find nothing. ``enqueue_on_commit`` defers
the send until the surrounding transaction commits, and sends at once outside a transaction.
"""

from __future__ import annotations

from typing import Any

from celery import Task
from django.db import transaction

from portal.core.deployment import QUEUE_KINDS, queue_name


def enqueue_on_commit(task: Task, *args: Any, **kwargs: Any) -> None:
    transaction.on_commit(lambda: task.apply_async(args=args, kwargs=kwargs))


def deployment_queues() -> dict[str, str]:
    """This deployment's Celery queue (= Redis list) per kind of work: {"ingestion":
    "<DEPLOYMENT_NAME>.ingestion", "default": ...} (portal/core/deployment.py)."""
    from django.conf import settings

    return {kind: queue_name(settings.DEPLOYMENT_NAME, kind) for kind in QUEUE_KINDS}


def celery_worker_argv(
    *,
    concurrency: int = 1,
    name: str | None = None,
    extra: tuple[str, ...] = (),
) -> list[str]:
    """The command line of a Celery worker for this project (launcher, tests, fault drill).

    It names no queue (-Q): the worker consumes every queue of the deployment its own settings
    name (CELERY_TASK_QUEUES, prefixed with DEPLOYMENT_NAME), so it cannot disagree with the
    routes the web process uses as long as both have the same settings.
    """
    import sys

    argv = [sys.executable, "-m", "celery", "-A", "portal", "worker"]
    argv += ["--concurrency", str(concurrency), "--loglevel", "INFO"]
    if name:
        argv += ["-n", f"{name}@%h"]
    return argv + list(extra)
