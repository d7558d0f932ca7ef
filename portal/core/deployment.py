"""Which deployment a process belongs to, for the one thing deployments may share: a Redis.

Two portals on one host with the defaults (two checkouts, `make run` in each) use the same Redis
database 0: with fixed queue names each would take the other's Celery tasks (and run them
against its own database, where the rows do not exist), and with no cache key prefix read the
other's cache entries. So Celery queue names and cache keys carry DEPLOYMENT_NAME. Its default
is derived from the data folder, which every process of one deployment shares (uploads and
indexes live there) and which differs between deployments; the path, not the files, so it is
stable across restarts and needs no I/O (docs/decisions.md, "Queues per deployment").

Pure functions without Django: settings.py imports them.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

# The kinds of work, one Celery queue each: "ingestion" (parsing, embedding, index syncs: the
# knowledge.* tasks) and "default" (everything else).
QUEUE_KINDS = ("ingestion", "default")

# Safe in a Redis key, a Celery queue name and a comma-separated `celery worker -Q` list.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")


def deployment_name_default(data_dir: Path | str) -> str:
    """``<folder name>-<8 hex digits of the absolute path>``, e.g. ``var-1f0c93ab``: readable in
    Redis and Flower, and distinct for two checkouts even when both folders are called var/."""
    path = os.path.abspath(os.fspath(data_dir))
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", os.path.basename(path)).strip("-.") or "portal"
    digest = hashlib.sha256(path.encode("utf-8")).hexdigest()[:8]
    return f"{slug[:40]}-{digest}"


def deployment_name_check(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise ImproperlyConfigured(
            f"DEPLOYMENT_NAME must be 1-63 letters, digits, '.', '_' or '-' (starting with a "
            f"letter or digit), got {name!r}."
        )
    return name


def queue_name(deployment: str, kind: str) -> str:
    """The Celery queue (and Redis list) of one kind of work in one deployment."""
    if kind not in QUEUE_KINDS:
        raise ValueError(f"unknown queue kind {kind!r}; one of {', '.join(QUEUE_KINDS)}")
    return f"{deployment}.{kind}"
