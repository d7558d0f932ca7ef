"""Readiness: can this process serve answers now? Each part is checked and named.

Liveness (/health/live) only says the process answers; orchestrators restart on it. Readiness
(/health/ready) takes the process out of the load balancer while a part it needs is down, so
citizens get a clear 503 from the proxy instead of a hanging request. Only operators (the callers
/metrics admits) see which part and why; everyone else sees the status alone.

Core checks what every process needs (the database, Redis). The parts a domain app owns (the
search index, the generation model) are probes that app registers in its ``AppConfig.ready()``
with ``readiness_probe_register``, so core never imports the apps above it. Probes run in
registration order, which is INSTALLED_APPS order.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings


@dataclass(frozen=True)
class Probe:
    name: str
    check: Callable[[], dict]  # returns {"ok": bool, ...}; an exception reports the part down
    needs_database: bool  # skipped (and reported down) while the database is down


_probes: dict[str, Probe] = {}


def readiness_probe_register(
    name: str, check: Callable[[], dict], *, needs_database: bool = False
) -> None:
    """Add a part to /health/ready (call from ``AppConfig.ready()``). Registering a name again
    replaces its probe and keeps its place."""
    _probes[name] = Probe(name=name, check=check, needs_database=needs_database)


@dataclass
class Readiness:
    checks: dict[str, dict] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(check["ok"] for check in self.checks.values())

    @property
    def down(self) -> list[str]:
        return [name for name, check in self.checks.items() if not check["ok"]]

    @property
    def status(self) -> str:
        return "ok" if self.ok else "unavailable"

    def as_dict(self) -> dict:
        return {"status": self.status, "down": self.down, **self.checks}


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


def readiness_check() -> Readiness:
    readiness = Readiness()
    readiness.checks["database"] = _timed(_database)
    readiness.checks["redis"] = _timed(_redis)
    for probe in _probes.values():
        # A probe that reads the database is skipped rather than report a second, derived failure.
        if probe.needs_database and not readiness.checks["database"]["ok"]:
            readiness.checks[probe.name] = {"ok": False, "error": "database down"}
        else:
            readiness.checks[probe.name] = _timed(probe.check)
    return readiness
