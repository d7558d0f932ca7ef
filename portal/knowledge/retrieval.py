"""Finding passages for a question: keyword (BM25) and dense (FAISS) search, fused, reranked.

Filtering happens inside retrieval, before any passage leaves this module: the ids of live
chunks in collections the asker may see (optionally narrowed by collection and language) are
computed first and passed into both searches (an IDSelector for FAISS, a mask for BM25), so a
citizen's search never even scores a staff-only passage.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from django.conf import settings
from django.utils.module_loading import import_string

from ingestion.embedding import load_embedder
from ingestion.tokenize import tokenize
from portal.knowledge.indexing import dense_search, keyword_index_loaded
from portal.knowledge.models import Chunk
from portal.knowledge.selectors import collections_visible_to, live_chunks

RETRIEVERS = ("bm25", "dense", "hybrid", "hybrid_rerank")


@dataclass(frozen=True)
class Passage:
    chunk_id: int
    score: float
    text: str
    document_title: str
    collection: str
    version: int
    effective_from: str
    heading_path: tuple[str, ...]
    page_start: int | None
    page_end: int | None
    document_id: int = 0
    language: str = ""


class Reranker(Protocol):
    def rerank(self, question: str, passages: list[Passage]) -> list[Passage]: ...


@dataclass
class SearchTrace:
    """Timings per stage in seconds, filled when a caller passes one in."""

    timings: dict[str, float] = field(default_factory=dict)


def allowed_chunk_ids(
    *, user, collections: list[str] | None = None, language: str | None = None
) -> np.ndarray:
    chunks = live_chunks().filter(version__document__collection__in=collections_visible_to(user))
    if collections:
        chunks = chunks.filter(version__document__collection__slug__in=collections)
    if language:
        chunks = chunks.filter(version__language=language)
    return np.fromiter(chunks.values_list("id", flat=True), dtype=np.int64)


def rrf_fuse(rankings: list[list[tuple[int, float]]], *, k: int = 60) -> list[tuple[int, float]]:
    """Reciprocal-rank fusion: each list adds 1 / (k + rank) to an id's score."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, (chunk_id, _) in enumerate(ranking, start=1):
            scores[chunk_id] = scores.get(chunk_id, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda item: -item[1])


def weighted_fuse(
    dense: list[tuple[int, float]], keyword: list[tuple[int, float]], *, dense_weight: float
) -> list[tuple[int, float]]:
    """Scores normalized to [0, 1] per list (max), then mixed."""
    scores: dict[int, float] = {}
    for ranking, weight in ((dense, dense_weight), (keyword, 1.0 - dense_weight)):
        top = max((s for _, s in ranking), default=0.0) or 1.0
        for chunk_id, score in ranking:
            scores[chunk_id] = scores.get(chunk_id, 0.0) + weight * score / top
    return sorted(scores.items(), key=lambda item: -item[1])


def _reranker() -> Reranker | None:
    path = settings.SEARCH_RERANKER
    return import_string(path)() if path else None


def _passages(ranked: list[tuple[int, float]]) -> list[Passage]:
    chunks = Chunk.objects.filter(pk__in=[i for i, _ in ranked]).select_related(
        "version__document__collection"
    )
    by_id = {c.pk: c for c in chunks}
    return [
        Passage(
            chunk_id=c.pk,
            score=score,
            text=c.text,
            document_title=c.version.document.title,
            collection=c.version.document.collection.name,
            version=c.version.number,
            effective_from=c.version.effective_from.isoformat(),
            heading_path=tuple(c.heading_path),
            page_start=c.page_start,
            page_end=c.page_end,
            document_id=c.version.document_id,
            language=c.version.language,
        )
        for chunk_id, score in ranked
        if (c := by_id.get(chunk_id)) is not None
    ]


def passages_search(
    *,
    question: str,
    user,
    k: int | None = None,
    retriever: str | None = None,
    collections: list[str] | None = None,
    language: str | None = None,
    trace: SearchTrace | None = None,
) -> list[Passage]:
    """The top-k passages for ``question`` that ``user`` may see, best first."""
    k = k or settings.SEARCH_TOP_K
    retriever = retriever or settings.SEARCH_RETRIEVER
    if retriever not in RETRIEVERS:
        raise ValueError(f"unknown retriever {retriever!r}; choose from {', '.join(RETRIEVERS)}")
    timings = trace.timings if trace is not None else {}
    started = time.perf_counter()
    allowed = allowed_chunk_ids(user=user, collections=collections, language=language)
    timings["filter"] = time.perf_counter() - started
    if not len(allowed):
        return []
    candidates = max(k, settings.SEARCH_CANDIDATES)

    keyword: list[tuple[int, float]] = []
    if retriever != "dense":
        started = time.perf_counter()
        bm25 = keyword_index_loaded()
        if bm25 is not None:
            mask = np.isin(bm25.ids, allowed, assume_unique=True)
            keyword = bm25.search(tokenize(question), k=candidates, allowed=mask)
        timings["bm25"] = time.perf_counter() - started
    dense: list[tuple[int, float]] = []
    if retriever != "bm25":
        started = time.perf_counter()
        vector = load_embedder(settings.EMBEDDING_MODEL).embed([question])[0]
        dense = dense_search(query_vector=vector, k=candidates, allowed_ids=allowed)
        timings["dense"] = time.perf_counter() - started

    if retriever == "bm25":
        ranked = keyword
    elif retriever == "dense":
        ranked = dense
    elif settings.SEARCH_FUSION == "weighted":
        ranked = weighted_fuse(dense, keyword, dense_weight=settings.SEARCH_DENSE_WEIGHT)
    else:
        ranked = rrf_fuse([dense, keyword], k=settings.SEARCH_RRF_K)

    reranker = _reranker() if retriever == "hybrid_rerank" else None
    if reranker is None:
        return _passages(ranked[:k])
    started = time.perf_counter()
    pool = _passages(ranked[: settings.SEARCH_RERANK_POOL])
    reranked = reranker.rerank(question, pool)[:k]
    timings["rerank"] = time.perf_counter() - started
    return reranked
