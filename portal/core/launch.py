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
import time
from collections.abc import Callable
from dataclasses import dataclass
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


@dataclass(frozen=True)
class ChildSpec:
    """A long-running process `make run` starts beside the web server, and stops with it."""

    name: str
    argv: list[str]
    env: dict[str, str]
    # Called once the process has started, before the next one starts (e.g. wait until the
    # inference server has loaded its model). Runs under the same Ctrl-C / SIGTERM handling.
    after_start: Callable[[subprocess.Popen], None] | None = None


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def supervise(specs: list[ChildSpec], *, stop_timeout: float = 15.0) -> int:
    """Start the children in order and wait for the last one (the web server); return its exit
    status, or 0 when stopped by Ctrl-C (SIGINT) or SIGTERM.

    SIGTERM (a service manager, `kill`, a container runtime) is handled exactly as Ctrl-C: its
    default would end this process alone and leave the web server, the worker and beat and the
    inference server running, holding the port and the queue. Every child still running is
    asked to stop (SIGTERM: uvicorn and Celery finish in-flight work) and killed after
    ``stop_timeout`` seconds.
    """
    previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGTERM, signal.SIGINT)}
    children: list[subprocess.Popen] = []
    try:
        for spec in specs:
            child = subprocess.Popen(spec.argv, env=spec.env, cwd=ROOT)
            children.append(child)
            if spec.after_start:
                spec.after_start(child)
        return children[-1].wait() if children else 0
    except KeyboardInterrupt:
        return 0
    finally:
        # A second signal must not cut the shutdown short and leave children behind; a child
        # that does not stop in time is killed instead.
        for sig in previous:
            signal.signal(sig, signal.SIG_IGN)
        _children_stop(children, timeout=stop_timeout)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _children_stop(children: list[subprocess.Popen], *, timeout: float) -> None:
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for child in children:
        try:
            child.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _inference_server(env: dict[str, str]) -> list[ChildSpec]:
    """The local llama-server, when the settings point at one on this host that is not running
    (``manage.py llm_server --plan`` decides); `make run` waits until its model is loaded."""
    from llm_backend.server import wait_ready

    plan = json.loads(manage("llm_server", "--plan", env=env, capture=True))
    print(f"Inference server: {plan['why']}.", flush=True)
    if not plan["start"]:
        return []

    def loaded(server: subprocess.Popen) -> None:
        try:
            wait_ready(
                plan["base_url"],
                alive=lambda: server.poll() is None,
                progress=lambda why: print(f"  inference server: {why}", flush=True),
            )
            print(f"  inference server ready at {plan['base_url']} ({plan['model']})", flush=True)
        except TimeoutError as exc:
            print(f"  {exc}; answers quote passages until it answers.", flush=True)

    argv = [sys.executable, str(ROOT / "manage.py"), "llm_server"]
    return [ChildSpec("llama-server", argv, env, after_start=loaded)]


def main() -> int:
    # Ctrl-C and SIGTERM alike from here on: a migrate in progress is stopped too.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        return _main()
    except KeyboardInterrupt:
        return 0


def _main() -> int:
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
    # The evaluation page's first run (retrieval on the demo set; skipped once a run exists).
    manage("evaluate_seed", env=env)

    children = _inference_server(env)
    if use_worker:
        # The worker runs beat too: the one scheduler of this local deployment.
        schedule = ("--beat", "--schedule", str(data_dir / "celerybeat-schedule"))
        children.append(ChildSpec("celery worker", celery_worker_argv(extra=schedule), env))

    def announce(_server: subprocess.Popen) -> None:
        print(
            f"\nThe portal is at http://{host}:{port}/  (Ctrl-C stops it)\n{accounts}", flush=True
        )

    # ASGI (uvicorn): the answer stream is an async view (portal/qa/streaming.py). No access
    # log: the application's own request log leaves personal data out (portal/core/logs.py).
    # Models load in the background before the first ask (ANSWER_WARMUP).
    web = [sys.executable, "-m", "uvicorn", "portal.asgi:application", "--host", host,
           "--port", port, "--no-access-log", "--timeout-graceful-shutdown", "10"]  # fmt: skip
    children.append(ChildSpec("web server", web, {**env, "ANSWER_WARMUP": "1"}, announce))
    return supervise(children)


if __name__ == "__main__":
    sys.exit(main())
