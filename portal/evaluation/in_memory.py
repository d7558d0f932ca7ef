"""Retrieval evaluation without the database, for corpora too large to ingest in a session.

One passage per corpus document (no chunking), the shipped tokenizer and embedder, and the
product's search core (``retrieval.hybrid_rank``: ``BM25Index``, the FAISS index kind
``index_sync`` would choose at this size with its ID selector, fusion). What it skips is the
storage, parsing and chunking of the pipeline, so its figures are comparable to the database
run only for corpora whose documents are single passages (STARD's articles are). Document
vectors are cached under ``PORTAL_DATA_DIR/eval-cache`` by content, so a re-run (or the other
split of a shared corpus) does not embed again.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import numpy as np
from django.conf import settings

from ingestion import vector_store
from ingestion.embedding import load_embedder
from ingestion.keyword_index import BM25Index
from ingestion.tokenize import tokenize
from portal.evaluation.datasets import EvalQuestion, EvalSet
from portal.evaluation.metrics import RetrieverTally
from portal.knowledge.retrieval import AllowedSet, hybrid_rank


def _document_vectors(texts: list[str], progress=None) -> np.ndarray:
    model = settings.EMBEDDING_MODEL
    digest = hashlib.sha256("\n\x00".join([model, *texts]).encode("utf-8")).hexdigest()[:20]
    path = Path(settings.DATA_DIR) / "eval-cache" / f"{digest}.npy"
    if path.exists():
        return np.load(path)
    embedder = load_embedder(model)
    batch = settings.EMBEDDING_BATCH_SIZE
    parts = []
    for start in range(0, len(texts), batch):
        parts.append(embedder.embed(texts[start : start + batch]))
        if progress and (start // batch) % 20 == 0:
            progress("embed", min(start + batch, len(texts)), len(texts))
    vectors = np.concatenate(parts) if parts else np.zeros((0, embedder.dimension), np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def _hits(question: EvalQuestion, doc_id: str, text: str) -> set[int]:
    if question.gold_spans:
        if doc_id not in question.gold_doc_ids:
            return set()
        return {i for i, span in enumerate(question.gold_spans) if span in text}
    return {i for i, gold in enumerate(question.gold_doc_ids) if gold == doc_id}


def retrieval_evaluate_in_memory(
    *,
    eval_set: EvalSet,
    limit: int | None = None,
    retrievers: tuple[str, ...] = ("bm25", "dense", "hybrid"),
    progress=None,
) -> dict:
    corpus = eval_set.corpus
    texts = [doc.text for doc in corpus]
    ids = np.arange(len(corpus), dtype=np.int64)
    bm25 = BM25Index.build([(i, tokenize(text)) for i, text in enumerate(texts)])
    vectors = _document_vectors(texts, progress)
    kind = vector_store.choose_kind(len(ids), threshold=settings.SEARCH_ANN_THRESHOLD)
    if kind == vector_store.IVF:
        nlist = vector_store.ann_nlist(len(ids))
        rng = np.random.default_rng(len(ids))
        size = min(len(ids), vector_store.ivf_training_size(nlist))
        index = vector_store.ivf_index(
            vectors[np.sort(rng.choice(len(ids), size, False))], nlist=nlist
        )
    else:
        index = vector_store.empty_index(vectors.shape[1])
    vector_store.index_apply(
        index, add_ids=ids, add_vectors=vectors, remove_ids=np.zeros(0, dtype=np.int64)
    )
    by_collection: dict[str, AllowedSet] = {}
    everything = AllowedSet(vector_store.IdFilter(ids))

    def allowed_for(question: EvalQuestion) -> AllowedSet:
        if not question.collections:
            return everything
        key = "\n".join(sorted(question.collections))
        if key not in by_collection:
            wanted = set(question.collections)
            by_collection[key] = AllowedSet(
                vector_store.IdFilter(ids[[doc.collection in wanted for doc in corpus]])
            )
        return by_collection[key]

    embedder = load_embedder(settings.EMBEDDING_MODEL)
    questions = eval_set.questions[:limit] if limit else eval_set.questions
    query_vectors = [embedder.embed([q.question])[0] for q in questions]
    report = {
        "dataset": eval_set.name,
        "split": eval_set.split,
        "n_questions": len(questions),
        "n_documents": len(corpus),
        "mode": f"in-memory ({kind} index, one passage per document)",
        "retrievers": {},
        "recall_curve": {},
    }
    for retriever in retrievers:
        tally = RetrieverTally()
        for n, (question, vector) in enumerate(zip(questions, query_vectors, strict=True), 1):
            started = time.perf_counter()
            ranked = hybrid_rank(
                retriever="hybrid" if retriever == "hybrid_rerank" else retriever,
                tokens=tokenize(question.question),
                query_vector=vector,
                allowed=allowed_for(question),
                bm25=bm25,
                index=index,
                candidates=settings.SEARCH_CANDIDATES,
                fusion=settings.SEARCH_FUSION,
                dense_weight=settings.SEARCH_DENSE_WEIGHT,
                rrf_k=settings.SEARCH_RRF_K,
                nprobe=settings.SEARCH_ANN_NPROBE,
            )[:10]
            latency_ms = (time.perf_counter() - started) * 1000
            hits = [_hits(question, corpus[i].doc_id, texts[i]) for i, _ in ranked]
            tally.add(hits, len(question.gold_spans or question.gold_doc_ids), latency_ms)
            if progress and n % 50 == 0:
                progress(retriever, n, len(questions))
        # Search only (the question embedding is computed up front and measured apart).
        report["retrievers"][retriever] = tally.metrics()
        report["recall_curve"][retriever] = tally.recall_curve()
    return report
