"""Readiness: can this process serve answers now? Each part is checked and named.

Liveness (/health/live) only says the process answers; orchestrators restart on it. Readiness
(/health/ready) takes the process out of the load balancer while a part it needs is down, so
citizens get a clear 503 from the proxy instead of a hanging request.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings


@dataclass
class Readiness:
    checks: dict[str, dict] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(check["ok"] for check in self.checks.values())

    @property
    def down(self) -> list[str]:
        return [name for name, check in self.checks.items() if not check["ok"]]

    def as_dict(self) -> dict:
        return {"status": "ready" if self.ok else "unavailable", "down": self.down, **self.checks}


def _timed(check) -> dict:
    started = time.perf_counter()
    try:
        result = check()
    except Exception as exc:  # a probe reports any failure of its part as "down"
        result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    result["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


def _database() -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"ok": True}


def _redis() -> dict:
    if not settings.REDIS_URL:
        # Embedded mode (no Redis configured): tasks run in-process, nothing to wait for.
        return {"ok": True, "configured": False}
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1)
    client.ping()
    return {"ok": True}


def _index() -> dict:
    from portal.knowledge.indexing import index_state, keyword_index_state, loaded_indexes
    from portal.knowledge.models import Chunk

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


def _model() -> dict:
    from portal.qa.backends import backend_problem

    problem = backend_problem()
    result = {"ok": problem is None, "backend": settings.LLM_BACKEND}
    if problem:
        result["error"] = problem
    return result


def readiness_check() -> Readiness:
    readiness = Readiness()
    readiness.checks["database"] = _timed(_database)
    readiness.checks["redis"] = _timed(_redis)
    # The index check reads the database: skip it rather than report a second, derived failure.
    if readiness.checks["database"]["ok"]:
        readiness.checks["index"] = _timed(_index)
    else:
        readiness.checks["index"] = {"ok": False, "error": "database down"}
    readiness.checks["model"] = _timed(_model)
    return readiness
