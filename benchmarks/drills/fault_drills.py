"""Fault drills against the loopback stack, on a PRIVATE Redis and PostgreSQL (never the shared
ones): restart Redis, restart PostgreSQL, kill -9 the Celery worker, kill -9 a gunicorn worker,
each while citizens keep asking and documents are queued for ingestion.

For each drill it reports what callers saw while the part was down (status codes: 503 expected,
never a hang), the recovery time (first success after the part is back), and that nothing
accepted was lost: every answer id returned with 200 exists in the database afterwards, and every
document accepted for ingestion ends up done.

    benchmarks/drills/fault_drills.sh          # sets up the private services, runs this
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
QUESTION = "How many work credits do I need for Social Security disability?"


class Prober:
    """Asks continuously from a few threads; records (t, route, status) and returned answer ids."""

    def __init__(self, base: str, threads: int = 4) -> None:
        self.base, self.threads = base, threads
        self.events: list[tuple[float, str, int]] = []
        self.answer_ids: list[str] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()

    def _get(self, path: str, timeout: float = 30, body: dict | None = None) -> tuple[int, bytes]:
        """GET ``path``, or POST ``body`` as JSON to it."""
        data = json.dumps(body).encode() if body is not None else None
        # http://127.0.0.1 only: the base URL is the drill's own stack.
        request = urllib.request.Request(  # noqa: S310
            self.base + path, data=data, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()
        except (urllib.error.URLError, OSError, TimeoutError):
            return 0, b""  # connection refused/reset: no HTTP answer at all

    def _ask_loop(self) -> None:
        while not self._stop.is_set():
            status, body = self._get("/api/v1/ask", body={"question": QUESTION})
            with self._lock:
                self.events.append((time.time(), "ask", status))
                if status == 200:
                    self.answer_ids.append(json.loads(body)["answer_id"])
            time.sleep(0.2)

    def _ready_loop(self) -> None:
        while not self._stop.is_set():
            status, _ = self._get("/health/ready", timeout=5)
            with self._lock:
                self.events.append((time.time(), "ready", status))
            time.sleep(0.5)

    def start(self) -> None:
        self._threads = [threading.Thread(target=self._ask_loop) for _ in range(self.threads)]
        self._threads.append(threading.Thread(target=self._ready_loop))
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def window(self, start: float, end: float, route: str) -> dict[str, int]:
        counts: dict[str, int] = {}
        for t, r, status in self.events:
            if r == route and start <= t <= end:
                counts[str(status)] = counts.get(str(status), 0) + 1
        return counts

    def first_ok_after(self, t0: float, route: str) -> float | None:
        for t, r, status in self.events:
            if r == route and t >= t0 and status == 200:
                return round(t - t0, 2)
        return None


def manage(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(ROOT / ".venv/bin/python"), "manage.py", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip


def queue_documents(env: dict, folder: Path, tag: str, n: int = 3) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (folder / f"{tag}-{i}.md").write_text(
            f"# Drill notice {tag} {i}\n\nOffice hours for drill {tag} number {i} are 9 to 5 "
            f"on weekdays. Bring form {i}{tag} and one photo identification.\n" * 3
        )
    manage(env, "ingest", str(folder), "--collection", "drills", "--queue")


def job_counts(env: dict) -> dict:
    code = (
        "import json; from django.db.models import Count; "
        "from portal.knowledge.models import IngestionJob as J; "
        "print(json.dumps(dict(J.objects.values_list('status').annotate(n=Count('id')).order_by())))"
    )
    out = manage(env, "shell", "-c", code)
    try:
        return json.loads(out.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return {"error": out.stderr[-300:]}


def answers_missing(env: dict, ids: list[str]) -> int:
    code = (
        "import json,sys; from portal.qa.models import Answer; "
        f"ids={json.dumps(ids)}; "
        "print(len(set(ids)) - Answer.objects.filter(public_id__in=ids).count())"
    )
    out = manage(env, "shell", "-c", code)
    try:
        return int(out.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return -1


def wait_jobs_done(env: dict, timeout: float) -> tuple[dict, float]:
    started = time.time()
    counts = job_counts(env)
    while time.time() - started < timeout:
        counts = job_counts(env)
        if not counts.get("queued") and not counts.get("running") and "error" not in counts:
            break
        time.sleep(3)
    return counts, round(time.time() - started, 1)


def run(args) -> dict:
    env = {**os.environ}
    stack = Path(env["STACK_DIR"])
    prober = Prober(args.url)
    prober.start()
    time.sleep(5)
    results = {}
    docs = stack / "drill-docs"

    def drill(name: str, fault, restore, down_s: float) -> None:
        queue_documents(env, docs / name, name)
        t_fault = time.time()
        fault()
        time.sleep(down_s)
        t_back = time.time()
        restore()
        time.sleep(args.settle)
        results[name] = {
            "down_s": down_s,
            "during_ask": prober.window(t_fault, t_back, "ask"),
            "during_ready": prober.window(t_fault, t_back, "ready"),
            "ask_recovered_after_s": prober.first_ok_after(t_back, "ask"),
            "ready_recovered_after_s": prober.first_ok_after(t_back, "ready"),
        }
        print(name, json.dumps(results[name]), flush=True)

    redis_pid = lambda: int((stack / "redis.pid").read_text())  # noqa: E731
    drill(
        "restart_redis",
        lambda: os.kill(redis_pid(), signal.SIGTERM),
        lambda: subprocess.run(
            [str(ROOT / "benchmarks/drills/fault_drills.sh"), "redis-start"], check=True
        ),
        args.down,
    )
    drill(
        "restart_postgres",
        lambda: subprocess.run(
            [str(ROOT / "benchmarks/drills/fault_drills.sh"), "pg-stop"], check=True
        ),
        lambda: subprocess.run(
            [str(ROOT / "benchmarks/drills/fault_drills.sh"), "pg-start"], check=True
        ),
        args.down,
    )
    worker_pid = lambda: int((stack / "worker.pid").read_text())  # noqa: E731

    def kill_worker() -> None:
        import psutil

        root = psutil.Process(worker_pid())
        for child in root.children(recursive=True):
            child.kill()
        root.kill()

    drill(
        "kill9_celery_worker",
        kill_worker,
        lambda: subprocess.run([str(ROOT / "benchmarks/load/run_stack.sh"), "worker"], check=True),
        2.0,
    )

    def kill_web_worker() -> None:
        import psutil

        children = psutil.Process(int((stack / "web.pid").read_text())).children()
        children[0].kill()  # the gunicorn master notices and forks a replacement

    drill("kill9_gunicorn_worker", kill_web_worker, lambda: None, 0.5)
    time.sleep(5)
    prober.stop()
    counts, waited = wait_jobs_done(env, args.ingest_timeout)
    results["ingestion_after_drills"] = {"jobs": counts, "waited_s": waited}
    results["answers_returned_200"] = len(prober.answer_ids)
    results["answers_missing_in_db"] = answers_missing(env, prober.answer_ids)
    results["ask_status_totals"] = prober.window(0, time.time() + 1, "ask")
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="http://127.0.0.1:8766")
    parser.add_argument("--down", type=float, default=8.0, help="seconds a service stays down")
    parser.add_argument("--settle", type=float, default=15.0)
    parser.add_argument("--ingest-timeout", type=float, default=240.0)
    parser.add_argument("--out", type=Path, default=ROOT / "var/drills/drills.json")
    args = parser.parse_args()
    report = run(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    lost = report["answers_missing_in_db"] != 0 or report["ingestion_after_drills"]["jobs"].get(
        "queued"
    )
    raise SystemExit(1 if lost else 0)
