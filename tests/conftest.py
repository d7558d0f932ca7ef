"""Suite-wide fixtures: an isolated data folder, role users, and a real Celery worker.

The suite runs against the PostgreSQL and Redis named by DATABASE_URL / REDIS_URL (`make test`
sets localhost defaults). Ingestion through the worker uses a real `celery worker` process.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("portal-data")


@pytest.fixture(autouse=True)
def _isolated_storage(settings, data_dir) -> None:
    # Uploads and FAISS files go to a per-session folder, never to the developer's var/.
    settings.DATA_DIR = data_dir
    settings.MEDIA_ROOT = data_dir / "media"
    settings.INDEX_DIR = data_dir / "index"


@pytest.fixture
def make_user(db, django_user_model):
    from portal.accounts.roles import Role
    from portal.accounts.services import user_role_assign

    def make(role: str | None, username: str | None = None):
        user = django_user_model.objects.create_user(
            username=username or f"user-{role or 'none'}", password="a-long-test-password-1"
        )
        if role:
            user_role_assign(user=user, role=Role(role))
        return user

    return make


def _db_url_for_worker() -> str:
    """The URL of the *test* database pytest-django created, for the worker process."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    user = db.get("USER") or "postgres"
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker, data_dir):
    """A real `celery worker` in its own process, on the test database and a private Redis db."""
    import redis
    from django.conf import settings

    from portal.core.jobs import celery_worker_argv

    if "postgresql" not in settings.DATABASES["default"]["ENGINE"]:
        pytest.skip("the real-worker tests need PostgreSQL (DATABASE_URL)")
    broker = settings.CELERY_BROKER_URL
    redis.Redis.from_url(broker).flushdb()
    env = {
        **os.environ,
        "DATABASE_URL": _db_url_for_worker(),
        "REDIS_URL": broker,
        "PORTAL_DATA_DIR": str(data_dir),
        # The queues the test process routes to (its DEPLOYMENT_NAME came from its own data dir).
        "DEPLOYMENT_NAME": settings.DEPLOYMENT_NAME,
        "PORTAL_ENV": "test",
        "CELERY_TASK_ALWAYS_EAGER": "0",
    }
    log_path = data_dir / "worker.log"
    log = open(log_path, "wb")  # noqa: SIM115 - closed in teardown
    proc = subprocess.Popen(
        celery_worker_argv(
            extra=(
                "--pool",
                "prefork",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            )
        ),
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while b"ready." not in log_path.read_bytes():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("celery worker did not start:\n" + log_path.read_text(errors="replace"))
        time.sleep(0.2)
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def wait_for(predicate, *, timeout: float = 60.0, interval: float = 0.25, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture(autouse=True)
def _quoting_backend(request):
    """Answers in tests come from the extractive backend unless a test asks for a model: loading
    and running the GGUF model costs seconds per answer on two cores. Tests of the model backends
    and the model-in-the-loop pipeline test set their own LLM_BACKEND_CONFIG. Plain-Python test
    runs (`-p no:django`) have no settings to change."""
    if not request.config.pluginmanager.hasplugin("django"):
        yield
        return
    from portal.qa.backends import backends_reset

    settings = request.getfixturevalue("settings")
    settings.LLM_BACKEND = "extractive"
    settings.LLM_BACKEND_CONFIG = {"kind": "extractive"}
    backends_reset()
    yield
    backends_reset()


SHARED_DATASETS = Path(os.environ.get("SHARED_DATASETS_DIR") or ROOT.parent / "shared" / "datasets")
# Tests that read the public evaluation data beside the checkout. A checkout without it (a clone
# elsewhere, SHARED_DATASETS_DIR unset) skips them and says why, instead of failing on a path.
needs_shared_datasets = pytest.mark.skipif(
    not SHARED_DATASETS.is_dir(), reason=f"{SHARED_DATASETS} is not here (set SHARED_DATASETS_DIR)"
)
