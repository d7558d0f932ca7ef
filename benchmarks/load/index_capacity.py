"""Capacity figures for docs/scaling.md: RAM per chunk and queries/s per core, flat vs IVF.

Builds indexes through the project's own ingestion.vector_store (the same kinds, nlist rule and
search call production uses) over synthetic 512-d unit vectors drawn around 2,000 topic centres
(real USE vectors cluster by topic; uniform noise would flatter nothing and punish IVF), then:
- bytes on disk and resident memory added by loading the index (chunks per GB of RAM);
- one query at a time on one thread (how a web worker searches), k = SEARCH_CANDIDATES (50),
  unfiltered and with a 10% allowed-id filter: queries/s per core, p50/p95 latency.

    python benchmarks/load/index_capacity.py --sizes 100000 300000 --out var/capacity.json
"""

from __future__ import annotations

import argparse
import gc
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

from ingestion import vector_store

DIM = 512


def vectors(n: int, rng: np.random.Generator, centres: np.ndarray) -> np.ndarray:
    picks = rng.integers(0, len(centres), size=n)
    out = centres[picks] + rng.normal(scale=0.6 / np.sqrt(DIM), size=(n, DIM)).astype(np.float32)
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out.astype(np.float32)


def rss() -> int:
    gc.collect()
    return psutil.Process().memory_info().rss


def measure(index, queries: np.ndarray, *, nprobe: int, allowed: np.ndarray | None) -> dict:
    latencies = []
    for query in queries:
        started = time.perf_counter()
        vector_store.search(index, query[None, :], k=50, allowed_ids=allowed, nprobe=nprobe)
        latencies.append(time.perf_counter() - started)
    lat = np.array(latencies)
    return {
        "qps_one_core": round(len(lat) / lat.sum(), 1),
        "p50_ms": round(float(np.percentile(lat, 50)) * 1000, 2),
        "p95_ms": round(float(np.percentile(lat, 95)) * 1000, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 300_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--nprobe", type=int, default=256)
    parser.add_argument("--out", type=Path, default=Path("var/capacity.json"))
    args = parser.parse_args()
    vector_store.set_search_threads(1)
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(2000, DIM)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    results = []
    for n in args.sizes:
        data = vectors(n, rng, centres)
        ids = np.arange(1, n + 1, dtype=np.int64)
        queries = vectors(args.queries, rng, centres)
        allowed = rng.choice(ids, size=n // 10, replace=False)
        for kind in ("flat", "ivf"):
            if kind == "flat":
                index = vector_store.empty_index(DIM)
            else:
                nlist = vector_store.ann_nlist(n)
                sample = data[rng.choice(n, size=min(n, vector_store.ivf_training_size(nlist)))]
                index = vector_store.ivf_index(sample, nlist=nlist)
            index.add_with_ids(data, ids)
            with tempfile.TemporaryDirectory() as folder:
                path = vector_store.index_write(index, directory=Path(folder), version=1)
                disk = path.stat().st_size
                del index
                before = rss()
                index = vector_store.index_read(path)
                loaded = rss() - before
            row = {
                "kind": kind,
                "chunks": n,
                "nlist": getattr(index, "nlist", 0),
                "disk_mb": round(disk / 2**20, 1),
                "ram_mb": round(loaded / 2**20, 1),
                "chunks_per_gb_ram": int(n / (max(loaded, disk) / 2**30)),
                "unfiltered": measure(index, queries, nprobe=args.nprobe, allowed=None),
                "filter_10pct": measure(index, queries, nprobe=args.nprobe, allowed=allowed),
            }
            print(json.dumps(row), flush=True)
            results.append(row)
            del index
        del data
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
