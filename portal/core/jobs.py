"""Enqueueing background work safely.

A task must never be sent while the transaction that created its rows is still open: the worker
could read before the commit (or after a rollback) and find nothing. ``enqueue_on_commit`` defers
the send until the surrounding transaction commits, and sends at once outside a transaction.
"""

from __future__ import annotations

from typing import Any

from celery import Task
from django.db import transaction


def enqueue_on_commit(task: Task, *args: Any, **kwargs: Any) -> None:
    transaction.on_commit(lambda: task.apply_async(args=args, kwargs=kwargs))


ALL_QUEUES = ("ingestion", "default")


def celery_worker_argv(
    *,
    queues: tuple[str, ...] = ALL_QUEUES,
    concurrency: int = 1,
    name: str | None = None,
    extra: tuple[str, ...] = (),
) -> list[str]:
    """The command line of a Celery worker for this project (launcher, tests, fault drill)."""
    import sys

    argv = [sys.executable, "-m", "celery", "-A", "portal", "worker", "-Q", ",".join(queues)]
    argv += ["--concurrency", str(concurrency), "--loglevel", "INFO"]
    if name:
        argv += ["-n", f"{name}@%h"]
    return argv + list(extra)
