"""Summarize a locust run (its --csv files) and the samples into JSON, and plot a PNG.

python benchmarks/load/report.py --csv var/load/extractive --samples samples.csv --out r.json
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def _rows(path: Path) -> list[dict]:
    with path.open() as handle:
        return list(csv.DictReader(handle))


def summarize(prefix: Path, samples: Path) -> dict:
    stats = _rows(Path(f"{prefix}_stats.csv"))
    failures_csv = Path(f"{prefix}_failures.csv")
    failures = _rows(failures_csv) if failures_csv.exists() else []
    routes = {}
    for row in stats:
        routes[row["Name"]] = {
            "requests": int(row["Request Count"]),
            "failures": int(row["Failure Count"]),
            "rps": round(float(row["Requests/s"]), 2),
            "p50_ms": float(row["50%"] or 0),
            "p95_ms": float(row["95%"] or 0),
            "p99_ms": float(row["99%"] or 0),
            "max_ms": float(row["Max Response Time"] or 0),
        }
    errors = {f"{r['Name']}: {r['Error']}": int(r["Occurrences"]) for r in failures}
    five_xx = sum(n for key, n in errors.items() if "50" in key.split(":", 1)[1][:12])
    sample_rows = _rows(samples) if samples.exists() else []
    memory = [float(r["web_rss_mb"]) + float(r["worker_rss_mb"]) for r in sample_rows]
    queue = [int(r["queue_total"]) for r in sample_rows]
    total = routes.get("Aggregated", {})
    return {
        "routes": routes,
        "throughput_rps": total.get("rps"),
        "error_rate": round(total.get("failures", 0) / max(1, total.get("requests", 1)), 4),
        "errors": errors,
        "http_5xx": five_xx,
        "queue_depth_max": max(queue, default=0),
        "memory_mb_first_last_max": [
            memory[0] if memory else 0,
            memory[-1] if memory else 0,
            max(memory, default=0),
        ],
    }


def plot(prefix: Path, samples: Path, out: Path, title: str) -> None:
    history = _rows(Path(f"{prefix}_stats_history.csv"))
    agg = [r for r in history if r["Name"] == "Aggregated"]
    t0 = int(agg[0]["Timestamp"]) if agg else 0
    fig, axes = plt.subplots(3, 1, figsize=(8, 9), sharex=True)
    t = [int(r["Timestamp"]) - t0 for r in agg]
    axes[0].plot(t, [float(r["Requests/s"] or 0) for r in agg], label="requests/s")
    axes[0].plot(t, [float(r["Failures/s"] or 0) for r in agg], label="failures/s")
    axes[0].legend()
    axes[0].set_title(title)
    for key in ("50%", "95%", "99%"):
        values = [float(r[key]) / 1000 if r[key] not in ("", "N/A") else 0 for r in agg]
        axes[1].plot(t, values, label=f"p{key[:-1]}")
    axes[1].set_ylabel("latency (s)")
    axes[1].legend()
    if samples.exists():
        rows = _rows(samples)
        ts = [float(r["t_s"]) for r in rows]
        axes[2].plot(ts, [float(r["web_rss_mb"]) for r in rows], label="web RSS MB")
        axes[2].plot(ts, [float(r["worker_rss_mb"]) for r in rows], label="worker RSS MB")
        twin = axes[2].twinx()
        twin.plot(ts, [int(r["queue_total"]) for r in rows], color="red", label="queue depth")
        twin.set_ylabel("queued tasks")
        axes[2].legend(loc="upper left")
    axes[2].set_xlabel("seconds")
    fig.tight_layout()
    fig.savefig(out, dpi=90)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--csv", type=Path, required=True)
    parser.add_argument("--samples", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--title", default="load test")
    args = parser.parse_args()
    report = summarize(args.csv, args.samples)
    args.out.write_text(json.dumps(report, indent=2))
    plot(args.csv, args.samples, args.out.with_suffix(".png"), args.title)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
