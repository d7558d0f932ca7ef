"""`make run`: prepare the embedded (or configured) deployment and serve it on this machine.

Decides how background work runs before any Django process starts, because settings are read
once at start-up: with a reachable Redis, a Celery worker (with beat) is started next to the web
server; without one, tasks run in-process (CELERY_TASK_ALWAYS_EAGER) and this says so. The
inference server (llama-server) is started beside them when the settings point at one on this
host, so the web and worker processes share one model instead of loading a copy each.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from portal.core.jobs import celery_worker_argv

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


def redis_reachable(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping())
    except (redis.RedisError, OSError):
        return False


def manage(*args: str, env: dict[str, str], capture: bool = False) -> str:
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env=env,
        check=True,
        text=True,
        stdout=subprocess.PIPE if capture else None,
    )
    return result.stdout or ""


def _inference_server(env: dict[str, str]) -> list[subprocess.Popen]:
    """Start the local llama-server when the settings point at one on this host that is not
    running (``manage.py llm_server --plan`` decides), and wait until its model is loaded."""
    from llm_backend.server import wait_ready

    plan = json.loads(manage("llm_server", "--plan", env=env, capture=True))
    print(f"Inference server: {plan['why']}.", flush=True)
    if not plan["start"]:
        return []
    server = subprocess.Popen([sys.executable, str(ROOT / "manage.py"), "llm_server"], env=env)
    try:
        wait_ready(
            plan["base_url"],
            alive=lambda: server.poll() is None,
            progress=lambda why: print(f"  inference server: {why}", flush=True),
        )
        print(f"  inference server ready at {plan['base_url']} ({plan['model']})", flush=True)
    except TimeoutError as exc:
        print(f"  {exc}; answers quote passages until it answers.", flush=True)
    return [server]


def main() -> int:
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    data_dir = Path(env.setdefault("PORTAL_DATA_DIR", str(ROOT / "var")))
    data_dir.mkdir(parents=True, exist_ok=True)
    host = env.get("HOST", "127.0.0.1")
    port = env.get("PORT", "8000")

    redis_url = env.get("REDIS_URL") or DEFAULT_REDIS
    use_worker = redis_reachable(redis_url)
    if use_worker:
        env["REDIS_URL"] = redis_url
        print(f"Background tasks: a Celery worker on Redis at {redis_url}.", flush=True)
    else:
        env["CELERY_TASK_ALWAYS_EAGER"] = "1"
        print(
            f"Background tasks: Redis is not reachable at {redis_url}, so tasks run in-process "
            "(uploads are ingested inside the web request).",
            flush=True,
        )
    database = env.get("DATABASE_URL") or f"SQLite at {data_dir / 'db.sqlite3'}"
    print(f"Database: {database.split('@')[-1]}", flush=True)

    manage("migrate", "--noinput", "-v", "0", env=env)
    accounts = manage("create_demo_accounts", env=env, capture=True)
    manage("load_demo", env=env)

    children: list[subprocess.Popen] = []
    children += _inference_server(env)
    if use_worker:
        children.append(
            subprocess.Popen(
                celery_worker_argv(
                    extra=("--beat", "--schedule", str(data_dir / "celerybeat-schedule"))
                ),
                env=env,
                cwd=ROOT,
            )
        )
    print(f"\nThe portal is at http://{host}:{port}/  (Ctrl-C stops it)\n{accounts}", flush=True)
    # ASGI (uvicorn): the answer stream is an async view (portal/qa/streaming.py). No access
    # log: the application's own request log leaves personal data out (portal/core/logs.py).
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "portal.asgi:application", "--host", host,
         "--port", port, "--no-access-log", "--timeout-graceful-shutdown", "10"],
        env={**env, "ANSWER_WARMUP": "1"},  # load models in the background before the first ask
        cwd=ROOT,
    )  # fmt: skip
    children.append(server)
    try:
        return server.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()


if __name__ == "__main__":
    sys.exit(main())
