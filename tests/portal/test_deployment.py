"""Two deployments on one Redis get their own Celery queues and cache keys (DEPLOYMENT_NAME), and
tasks still route to queues this deployment's workers consume."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from portal.core.deployment import deployment_name_check, deployment_name_default
from portal.core.jobs import celery_worker_argv, deployment_queues
from tests.conftest import ROOT

_READ = (
    "import json; from portal import settings as s; print(json.dumps({"
    "'name': s.DEPLOYMENT_NAME, 'routes': s.CELERY_TASK_ROUTES,"
    " 'default': s.CELERY_TASK_DEFAULT_QUEUE, 'queues': [q.name for q in s.CELERY_TASK_QUEUES],"
    " 'cache': s.CACHES['default']['KEY_PREFIX']}))"
)


def _settings_with(**env: str) -> dict:
    """portal/settings.py as a fresh process with this environment reads it."""
    base = {k: v for k, v in os.environ.items() if k not in ("DEPLOYMENT_NAME", "PORTAL_DATA_DIR")}
    out = subprocess.run(
        [sys.executable, "-c", _READ],
        cwd=ROOT,
        env={**base, "REDIS_URL": "redis://127.0.0.1:6379/0", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(out.stdout)


def test_two_data_folders_get_their_own_queues_and_cache_keys(tmp_path):
    # Given two checkouts whose data folders are both called var/, on the same default Redis
    first = _settings_with(PORTAL_DATA_DIR=str(tmp_path / "one" / "var"))
    second = _settings_with(PORTAL_DATA_DIR=str(tmp_path / "two" / "var"))
    again = _settings_with(PORTAL_DATA_DIR=str(tmp_path / "one" / "var"))

    assert first["name"] != second["name"] and first["name"].startswith("var-")
    assert first == again  # the same deployment after a restart: the same names
    for deployment in (first, second):
        name = deployment["name"]
        assert deployment["queues"] == [f"{name}.ingestion", f"{name}.default"]
        assert deployment["routes"] == {"knowledge.*": {"queue": f"{name}.ingestion"}}
        assert deployment["default"] == f"{name}.default"
        assert deployment["cache"] == name
    assert not set(first["queues"]) & set(second["queues"])


def test_an_explicit_name_wins_and_a_bad_one_fails_at_start(tmp_path):
    named = _settings_with(PORTAL_DATA_DIR=str(tmp_path / "var"), DEPLOYMENT_NAME="cited-answers")
    assert named["queues"] == ["cited-answers.ingestion", "cited-answers.default"]
    with pytest.raises(ImproperlyConfigured, match="DEPLOYMENT_NAME"):
        deployment_name_check("two,queues")
    assert deployment_name_check(deployment_name_default("/srv/my portal/")) == (
        deployment_name_default("/srv/my portal")
    )


def test_tasks_route_to_the_queues_the_worker_consumes(settings):
    from portal.celery import app

    queues = deployment_queues()
    assert queues == {
        "ingestion": f"{settings.DEPLOYMENT_NAME}.ingestion",
        "default": f"{settings.DEPLOYMENT_NAME}.default",
    }
    # A worker started without -Q consumes every queue in CELERY_TASK_QUEUES: exactly these.
    assert "-Q" not in celery_worker_argv()
    assert set(app.amqp.queues) == set(queues.values())
    routed = {
        task: app.amqp.router.route({}, task)["queue"].name
        for task in ("knowledge.ingest_version", "knowledge.sync_indexes", "audit.checkpoint")
    }
    assert routed == {
        "knowledge.ingest_version": queues["ingestion"],
        "knowledge.sync_indexes": queues["ingestion"],
        "audit.checkpoint": queues["default"],
    }
