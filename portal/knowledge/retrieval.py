"""Finding passages for a question: keyword (BM25) and dense (FAISS) search, fused, reranked.

Filtering happens inside retrieval, before any passage leaves this module: the ids of live
chunks in collections the asker may see (optionally narrowed by collection and language) are
computed first and passed into both searches (an ID selector for FAISS, a mask for BM25), so a
citizen's search never even scores a staff-only passage.

The allowed set is cached per process, keyed by everything it depends on (the collections the
asker may see, the collection and language filters, today's date and both index versions: every
change to the live chunks goes through the index sync, which bumps the versions), so a query does
not read every live chunk id from the database. ``hybrid_rank`` is the database-free core that
the benchmark (``manage.py benchmark retrieval``) drives at 100k-1M chunks.

Settings (SEARCH_*, EMBEDDING_MODEL) are read through ``RetrievalConfig.from_settings()``
(portal/knowledge/conf.py) once per call, so they are validated and ``override_settings`` works.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from django.utils import timezone
from django.utils.module_loading import import_string

from ingestion import vector_store
from ingestion.embedding import load_embedder
from ingestion.keyword_index import BM25Index
from ingestion.tokenize import tokenize
from ingestion.vector_store import IdFilter
from portal.knowledge.conf import RETRIEVERS, RetrievalConfig
from portal.knowledge.indexing import (
    index_state,
    keyword_index_loaded,
    keyword_index_state,
    loaded_indexes,
)
from portal.knowledge.models import Chunk
from portal.knowledge.selectors import collections_visible_to, live_chunks


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
    # The flagged planted-instruction sentences cut from ``text`` (the output guard blocks a
    # published sentence that repeats one).
    planted: tuple[str, ...] = ()


class Reranker(Protocol):
    def rerank(self, question: str, passages: list[Passage]) -> list[Passage]: ...


@dataclass
class SearchTrace:
    """Timings per stage in seconds, filled when a caller passes one in."""

    timings: dict[str, float] = field(default_factory=dict)


def allowed_chunk_ids(
    *, user, collections: list[str] | None = None, language: str | None = None
) -> np.ndarray:
    """Ids of the live chunks ``user`` may receive (uncached: reads the database)."""
    return _allowed_ids_query(
        visible=list(collections_visible_to(user).values_list("pk", flat=True)),
        collections=collections,
        language=language,
    )


def _allowed_ids_query(
    *, visible: list[int], collections: list[str] | None, language: str | None
) -> np.ndarray:
    chunks = live_chunks().filter(version__document__collection__in=visible)
    if collections:
        chunks = chunks.filter(version__document__collection__slug__in=collections)
    if language:
        chunks = chunks.filter(version__language=language)
    return np.fromiter(chunks.values_list("id", flat=True), dtype=np.int64)


@dataclass
class AllowedSet:
    """One allowed-id set, ready for both searches: a FAISS selector and BM25 row masks."""

    ids: IdFilter
    _masks: dict[int, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)

    def mask(self, bm25: BM25Index) -> np.ndarray:
        # Keyed by the loaded index object: a reloaded BM25 file gets a fresh mask.
        key = id(bm25)
        mask = self._masks.get(key)
        if mask is None:
            self._masks.clear()
            mask = self._masks[key] = bm25.mask_for(self.ids.contains)
        return mask


class _AllowedCache:
    """A small LRU of AllowedSets. The key holds every input of the set, so an entry is never
    stale; old keys simply age out."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple, AllowedSet] = OrderedDict()

    def get(self, key: tuple, compute, *, max_entries: int | None = None) -> AllowedSet:
        if max_entries is None:
            max_entries = RetrievalConfig.from_settings().filter_cache_size
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                return entry
        entry = AllowedSet(IdFilter(compute()))
        with self._lock:
            self._entries[key] = entry
            while len(self._entries) > max_entries:
                self._entries.popitem(last=False)
        return entry

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


allowed_cache = _AllowedCache()


def allowed_set(
    *,
    user,
    collections: list[str] | None = None,
    language: str | None = None,
    config: RetrievalConfig | None = None,
) -> AllowedSet:
    config = config or RetrievalConfig.from_settings()
    visible = sorted(collections_visible_to(user).values_list("pk", flat=True))
    key = (
        tuple(visible),
        tuple(sorted(collections or ())),
        language or "",
        timezone.localdate().isoformat(),
        index_state(config.embedding_model),
        keyword_index_state(),
        _knowledge_state(),
    )
    return allowed_cache.get(
        key,
        lambda: _allowed_ids_query(visible=visible, collections=collections, language=language),
        max_entries=config.filter_cache_size,
    )


def _knowledge_state() -> tuple:
    """What changes the live set before the indexes are rewritten: a delete (live at once, by
    design) or a finished version superseding another. One aggregate query on indexed columns."""
    from django.db.models import Count, Max

    from portal.knowledge.models import Document, DocumentVersion

    deleted = Document.objects.filter(deleted_at__isnull=False).aggregate(
        n=Count("pk"), last=Max("deleted_at")
    )
    done = DocumentVersion.objects.filter(status="done").aggregate(n=Count("pk"), last=Max("pk"))
    return (deleted["n"], str(deleted["last"]), done["n"], done["last"])


class _QueryVectors:
    """Per-process LRU of question embeddings: the embedder is most of a hybrid query's time,
    and the same questions (suggested questions, retries, evaluation runs) come back often."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()

    def get(
        self, question: str, model: str, *, config: RetrievalConfig | None = None
    ) -> np.ndarray:
        config = config or RetrievalConfig.from_settings()
        key = (model, question)
        with self._lock:
            vector = self._entries.get(key)
            if vector is not None:
                self._entries.move_to_end(key)
                return vector
        vector = embed_query(question, model, threads=config.threads)
        if config.query_cache_size:
            with self._lock:
                self._entries[key] = vector
                while len(self._entries) > config.query_cache_size:
                    self._entries.popitem(last=False)
        return vector


def embed_query(question: str, model: str, *, threads: int | None = None) -> np.ndarray:
    """One question's vector, with the numeric libraries held to ``SEARCH_THREADS`` threads:
    a single short text gains nothing from a second BLAS thread, and on a 2-core machine shared
    with workers the extra thread only waits (see MODELS.md)."""
    from threadpoolctl import threadpool_limits

    if threads is None:
        threads = RetrievalConfig.from_settings().threads
    with threadpool_limits(limits=threads):
        return load_embedder(model).embed([question])[0]


query_vectors = _QueryVectors()


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


def _reranker(config: RetrievalConfig) -> Reranker | None:
    path = config.reranker
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
            text=c.evidence_text,
            document_title=c.version.document.title,
            collection=c.version.document.collection.name,
            version=c.version.number,
            effective_from=c.version.effective_from.isoformat(),
            heading_path=tuple(c.heading_path),
            page_start=c.page_start,
            page_end=c.page_end,
            document_id=c.version.document_id,
            language=c.version.language,
            planted=tuple(span["text"] for span in c.planted),
        )
        for chunk_id, score in ranked
        if (c := by_id.get(chunk_id)) is not None
    ]


def hybrid_rank(
    *,
    retriever: str,
    tokens: list[str],
    query_vector: np.ndarray | None,
    allowed: AllowedSet,
    bm25: BM25Index | None,
    index,
    candidates: int,
    fusion: str = "weighted",
    dense_weight: float = 0.3,
    rrf_k: int = 60,
    nprobe: int = 16,
    timings: dict[str, float] | None = None,
) -> list[tuple[int, float]]:
    """Chunk ids and fused scores, best first, among ``allowed`` only. No database access:
    ``passages_search`` and the retrieval benchmark both call this."""
    timings = timings if timings is not None else {}
    keyword: list[tuple[int, float]] = []
    if retriever != "dense" and bm25 is not None:
        started = time.perf_counter()
        keyword = bm25.search(tokens, k=candidates, allowed=allowed.mask(bm25))
        timings["bm25"] = time.perf_counter() - started
    dense: list[tuple[int, float]] = []
    if retriever != "bm25" and index is not None and query_vector is not None:
        started = time.perf_counter()
        scores, ids = vector_store.search(
            index, query_vector.reshape(1, -1), k=candidates, allowed_ids=allowed.ids, nprobe=nprobe
        )
        dense = [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i != -1]
        timings["dense_search"] = time.perf_counter() - started
    if retriever == "bm25":
        return keyword
    if retriever == "dense":
        return dense
    if fusion == "weighted":
        return weighted_fuse(dense, keyword, dense_weight=dense_weight)
    return rrf_fuse([dense, keyword], k=rrf_k)


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
    config = RetrievalConfig.from_settings()
    k = k or config.top_k
    retriever = retriever or config.retriever
    if retriever not in RETRIEVERS:
        raise ValueError(f"unknown retriever {retriever!r}; choose from {', '.join(RETRIEVERS)}")
    timings = trace.timings if trace is not None else {}
    started = time.perf_counter()
    allowed = allowed_set(user=user, collections=collections, language=language, config=config)
    timings["filter"] = time.perf_counter() - started
    if not len(allowed):
        return []
    model = config.embedding_model
    query_vector = None
    if retriever != "bm25":
        started = time.perf_counter()
        query_vector = query_vectors.get(question, model, config=config)
        timings["embed"] = time.perf_counter() - started
    ranked = hybrid_rank(
        retriever="hybrid" if retriever == "hybrid_rerank" else retriever,
        tokens=tokenize(question) if retriever != "dense" else [],
        query_vector=query_vector,
        allowed=allowed,
        bm25=keyword_index_loaded() if retriever != "dense" else None,
        index=loaded_indexes.get(model) if retriever != "bm25" else None,
        candidates=max(k, config.candidates),
        fusion=config.fusion,
        dense_weight=config.dense_weight,
        rrf_k=config.rrf_k,
        nprobe=config.ann_nprobe,
        timings=timings,
    )
    # Kept for callers reading the old key: "dense" is embedding plus search.
    if retriever != "bm25":
        timings["dense"] = timings.get("embed", 0.0) + timings.get("dense_search", 0.0)

    reranker = _reranker(config) if retriever == "hybrid_rerank" else None
    if reranker is None:
        return _passages(ranked[:k])
    started = time.perf_counter()
    pool = _passages(ranked[: config.rerank_pool])
    reranked = reranker.rerank(question, pool)[:k]
    timings["rerank"] = time.perf_counter() - started
    return reranked
