"""Ranking metrics over retrieved passages (pure functions, no Django)."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[index]


def ranking_metrics(hits: list[set[int]], n_gold: int, *, ks=(1, 5, 10)) -> dict[str, float]:
    """``hits[i]`` is the set of gold items (by index) that the passage at rank i+1 matches.

    recall@k: fraction of gold items matched in the top k; MRR@10: 1/rank of the first match;
    nDCG@10 with binary gains, each gold item counted once.
    """
    result: dict[str, float] = {}
    for k in ks:
        found = set().union(*hits[:k]) if hits[:k] else set()
        result[f"recall@{k}"] = len(found) / n_gold if n_gold else 0.0
    first = next((rank for rank, h in enumerate(hits[:10], start=1) if h), None)
    result["mrr@10"] = 1.0 / first if first else 0.0
    seen: set[int] = set()
    dcg = 0.0
    for rank, matched in enumerate(hits[:10], start=1):
        new = matched - seen
        if new:
            dcg += 1.0 / math.log2(rank + 1)
            seen |= new
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(n_gold, 10) + 1))
    result["ndcg@10"] = dcg / ideal if ideal else 0.0
    return result


class RetrieverTally:
    """One retriever's results over a question set: ranking metrics, recall@1..10 and latency.

    Both evaluation modes (through the database, and in memory) feed it one question at a time.
    """

    def __init__(self) -> None:
        self.rows: list[dict[str, float]] = []
        self.latencies: list[float] = []
        self.curve = [0.0] * 10

    def add(self, hits: list[set[int]], n_gold: int, latency_ms: float) -> None:
        self.latencies.append(latency_ms)
        self.rows.append(ranking_metrics(hits, n_gold))
        for k in range(1, 11):
            found = set().union(*hits[:k]) if hits[:k] else set()
            self.curve[k - 1] += len(found) / n_gold if n_gold else 0.0

    def metrics(self) -> dict[str, float]:
        out = {
            key: round(sum(r[key] for r in self.rows) / len(self.rows), 4) for key in self.rows[0]
        }
        out["latency_ms_p50"] = round(percentile(self.latencies, 50), 2)
        out["latency_ms_p95"] = round(percentile(self.latencies, 95), 2)
        return out

    def recall_curve(self) -> list[float]:
        return [round(v / len(self.rows), 4) for v in self.curve]
