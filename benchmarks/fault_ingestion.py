"""Fault drill: ingest documents with two Celery workers while killing workers with SIGKILL.

    python -m benchmarks.fault_ingestion [--docs 120] [--kills 20] [--out report.json]

Needs PostgreSQL and Redis (ADMIN_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres;
REDIS_URL, default redis://127.0.0.1:6379/14, which is flushed). It creates a scratch database,
enqueues the documents, starts two workers and beat (the stuck-job reconciler), then kills a
random worker process (a pool child doing the work, or the whole worker) at random moments and
restarts whatever died. Afterwards it reports lost documents (not done), duplicate chunks, the
index check and the recovery time after the last kill. The scratch database is dropped at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

from portal.core.jobs import celery_worker_argv

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _write_corpus(folder: Path, count: int) -> None:
    rows = (DATASETS / "doc2dial_rc_val" / "documents.jsonl").read_text(encoding="utf-8")
    for i, line in enumerate(rows.splitlines()[:count]):
        (folder / f"doc-{i:03d}.txt").write_text(json.loads(line)["context"], encoding="utf-8")


class Worker:
    def __init__(self, name: str, env: dict[str, str], log_dir: Path) -> None:
        self.name, self.env, self.log_dir = name, env, log_dir
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        log = open(self.log_dir / f"{self.name}-{self.starts}.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            celery_worker_argv(name=self.name),
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=120)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    rng = random.Random(args.seed)  # noqa: S311 - reproducible chaos, not cryptography

    admin_url = os.environ.get("ADMIN_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    db_name = f"fault_drill_{os.getpid()}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db_name}"')
    database_url = admin_url.rsplit("/", 1)[0] + f"/{db_name}"
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14")
    work = Path(tempfile.mkdtemp(prefix="fault-drill-"))
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "PORTAL_DATA_DIR": str(work / "data"),
        "PORTAL_ENV": "test",
        # Short timeouts so the drill recovers in minutes rather than the production hour.
        "CELERY_VISIBILITY_TIMEOUT": "60",
        "INGEST_STUCK_AFTER_S": "30",
        "INGEST_RECONCILE_EVERY_S": "10",
        "INGEST_MAX_ATTEMPTS": "6",
    }
    manage = [sys.executable, str(ROOT / "manage.py")]
    workers: list[Worker] = []
    beat = None
    try:
        import redis

        redis.Redis.from_url(redis_url).flushdb()
        subprocess.run([*manage, "migrate", "-v", "0"], env=env, check=True)
        corpus = work / "corpus"
        corpus.mkdir()
        _write_corpus(corpus, args.docs)
        subprocess.run(
            [*manage, "ingest", str(corpus), "--collection", "fault-drill", "--queue"],
            env=env,
            check=True,
        )
        workers = [Worker(f"w{i}", env, work) for i in (1, 2)]
        for worker in workers:
            worker.start()
        beat = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "portal",
                "beat",
                "--loglevel",
                "WARNING",
                "--schedule",
                str(work / "beat-schedule"),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(8)  # let the workers boot and start on the queue

        os.environ.update(env)
        os.environ["DJANGO_SETTINGS_MODULE"] = "portal.settings"
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        from django.db import connection

        from portal.knowledge.indexing import index_check
        from portal.knowledge.models import Chunk, IngestionJob

        kills = []
        for n in range(args.kills):
            time.sleep(rng.uniform(0.5, 3.0))
            worker = rng.choice(workers)
            if not worker.alive():
                worker.start()
                time.sleep(3)
            pool = _children(worker.proc.pid)
            whole = not pool or rng.random() < 0.3
            target = worker.proc.pid if whole else rng.choice(pool)
            os.kill(target, signal.SIGKILL)
            kills.append({"n": n + 1, "worker": worker.name, "whole_worker": whole})
            if whole:
                worker.proc.wait()
                for orphan in pool:  # a real machine crash takes the pool with it
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(orphan, signal.SIGKILL)
                worker.start()
            connection.close()
        last_kill = time.monotonic()

        def pending() -> int:
            connection.close()
            return IngestionJob.objects.exclude(status__in=["done", "failed"]).count()

        deadline = last_kill + args.timeout
        while pending() and time.monotonic() < deadline:
            for worker in workers:
                if not worker.alive():
                    worker.start()
            time.sleep(2)
        recovery_s = time.monotonic() - last_kill

        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM (SELECT version_id, position FROM knowledge_chunk "
                "GROUP BY version_id, position HAVING count(*) > 1) d"
            )
            duplicate_positions = cursor.fetchone()[0]
            cursor.execute(
                "SELECT count(*) FROM (SELECT version_id, text FROM knowledge_chunk "
                "GROUP BY version_id, text, char_start HAVING count(*) > 1) d"
            )
            duplicate_texts = cursor.fetchone()[0]
        jobs = IngestionJob.objects.all()
        check = index_check()
        report = {
            "documents": jobs.count(),
            "done": jobs.filter(status="done").count(),
            "failed": jobs.filter(status="failed").count(),
            "failed_reasons": sorted(
                set(jobs.filter(status="failed").values_list("error_code", flat=True))
            ),
            "lost": jobs.exclude(status__in=["done", "failed"]).count(),
            "max_attempts_seen": max(jobs.values_list("attempts", flat=True), default=0),
            "kills": len(kills),
            "whole_worker_kills": sum(k["whole_worker"] for k in kills),
            "duplicate_chunks": duplicate_positions + duplicate_texts,
            "chunks": Chunk.objects.count(),
            "check_index_ok": check.ok,
            "index_missing": check.missing,
            "index_extra": check.extra,
            "recovery_s_after_last_kill": round(recovery_s, 1),
        }
        connection.close()
        print(json.dumps(report, indent=2))
        if args.out:
            args.out.write_text(json.dumps(report, indent=2) + "\n")
        return 0 if report["lost"] == 0 and report["duplicate_chunks"] == 0 and check.ok else 1
    finally:
        for worker in workers:
            worker.stop()
        if beat is not None:
            beat.terminate()
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')


if __name__ == "__main__":
    sys.exit(main())
