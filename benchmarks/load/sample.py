"""Sample queue depth and memory of the stack's processes every few seconds into a CSV.

    python benchmarks/load/sample.py --stack-dir var/load-stack --out samples.csv --every 2
Runs until killed (SIGTERM/SIGINT). Memory is the RSS sum of each pid file's process tree.
"""

from __future__ import annotations

import argparse
import csv
import os
import signal
import time
from pathlib import Path

import psutil
import redis

QUEUE_KINDS = ("ingestion", "default")  # queues "<DEPLOYMENT_NAME>.<kind>" (run_stack.sh sets it)


def tree_rss(pid_file: Path) -> int:
    try:
        root = psutil.Process(int(pid_file.read_text().strip()))
        return sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])
    except (OSError, ValueError, psutil.Error):
        return 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stack-dir", type=Path, required=True)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/7")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--every", type=float, default=2.0)
    parser.add_argument("--deployment", default=os.environ.get("DEPLOYMENT_NAME", "load-stack"))
    args = parser.parse_args()
    queues = [f"{args.deployment}.{kind}" for kind in QUEUE_KINDS]
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    client = redis.Redis.from_url(args.redis, socket_timeout=1)
    started = time.time()
    with args.out.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["t_s", "queue_total", "web_rss_mb", "worker_rss_mb", "redis_up"])
        while not stop:
            try:
                depth, up = sum(client.llen(q) for q in queues), 1
            except redis.RedisError:
                depth, up = 0, 0
            writer.writerow(
                [
                    round(time.time() - started, 1),
                    depth,
                    round(tree_rss(args.stack_dir / "web.pid") / 2**20, 1),
                    round(tree_rss(args.stack_dir / "worker.pid") / 2**20, 1),
                    up,
                ]
            )
            handle.flush()
            time.sleep(args.every)


if __name__ == "__main__":
    main()
