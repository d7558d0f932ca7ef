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
