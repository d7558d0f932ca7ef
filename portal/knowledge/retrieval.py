"""Finding passages for a question, filtered by what the asker may see.

Filtering happens here, before any passage leaves the knowledge app: FAISS returns candidate ids,
and only ids of live chunks in collections visible to the asker survive. The retrieval issue adds
keyword search, fusion and reranking on top of this.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from ingestion.embedding import load_embedder
from portal.knowledge.indexing import dense_search
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


def passages_search(*, question: str, user, k: int | None = None) -> list[Passage]:
    k = k or settings.SEARCH_TOP_K
    embedder = load_embedder(settings.EMBEDDING_MODEL)
    query = embedder.embed([question])[0]
    # Oversample: some nearest ids will be filtered out as not visible or no longer live.
    candidates = dense_search(query_vector=query, k=k * 8)
    if not candidates:
        return []
    scores = dict(candidates)
    allowed = (
        live_chunks()
        .filter(pk__in=scores, version__document__collection__in=collections_visible_to(user))
        .select_related("version__document__collection")
    )
    chunks: list[Chunk] = sorted(allowed, key=lambda c: -scores[c.pk])[:k]
    return [
        Passage(
            chunk_id=c.pk,
            score=scores[c.pk],
            text=c.text,
            document_title=c.version.document.title,
            collection=c.version.document.collection.name,
            version=c.version.number,
            effective_from=c.version.effective_from.isoformat(),
            heading_path=tuple(c.heading_path),
            page_start=c.page_start,
            page_end=c.page_end,
        )
        for c in chunks
    ]
