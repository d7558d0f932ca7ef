"""Keeping FAISS in step with the database, and searching it.

``index_sync`` is the only writer: it takes the VectorIndex row lock, compares the ids in the
current index file with the ids of live chunks that have a vector for the model, applies the
difference and saves a new index version. Running it twice changes nothing the second time, so
every caller (ingestion, deletion, the hourly beat, the rebuild command) can just call it.

Settings (INDEX_DIR, EMBEDDING_MODEL, SEARCH_ANN_*, SEARCH_THREADS, FAISS_DEVICE) are read through
``RetrievalConfig.from_settings()`` (portal/knowledge/conf.py) when a function runs.
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.db import IntegrityError, connection, transaction
from django.utils.text import slugify

from ingestion import vector_store
from ingestion.embedding import load_embedder
from ingestion.keyword_index import BM25Index
from portal.knowledge.conf import RetrievalConfig
from portal.knowledge.models import Chunk, ChunkEmbedding, KeywordIndex, VectorIndex
from portal.knowledge.selectors import live_chunks

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IndexSyncResult:
    model: str
    version: int
    size: int
    added: int
    removed: int


def database_index_dir() -> Path:
    """The folder under INDEX_DIR that belongs to the database this process is connected to.

    Index files are pruned by version number, and every database counts its versions from 1: two
    databases sharing one PORTAL_DATA_DIR (an evaluation beside the demo, a test run beside a dev
    server) would delete each other's files if they shared a folder.
    """
    db = connection.settings_dict
    identity = f"{connection.vendor}|{db.get('HOST') or ''}|{db.get('PORT') or ''}|{db['NAME']}"
    readable = slugify(f"{connection.vendor}-{Path(str(db['NAME'])).name}")[:40]
    digest = hashlib.sha256(identity.encode()).hexdigest()[:8]
    return RetrievalConfig.from_settings().index_dir / f"{readable}-{digest}"


def _index_dir(model: str) -> Path:
    return database_index_dir() / slugify(model.replace("/", "-"))


def _lock_state(model: str) -> VectorIndex:
    """SELECT ... FOR UPDATE on the model's row, creating it first if needed.

    Creating inside a savepoint tolerates two workers racing to create the same row.
    """
    try:
        with transaction.atomic():
            VectorIndex.objects.get_or_create(model=model)
    except IntegrityError:
        pass
    return VectorIndex.objects.select_for_update().get(model=model)


def _vectors_for(model: str, ids: list[int]) -> np.ndarray:
    rows = dict(
        ChunkEmbedding.objects.filter(model=model, chunk_id__in=ids).values_list(
            "chunk_id", "vector"
        )
    )
    return np.stack([np.frombuffer(bytes(rows[i]), dtype=np.float32) for i in ids])


def desired_ids(model: str) -> set[int]:
    return set(
        ChunkEmbedding.objects.filter(model=model, chunk__in=live_chunks()).values_list(
            "chunk_id", flat=True
        )
    )


def _needs_new_kind(index, n: int, *, threshold: int) -> bool:
    """Whether the index should be rebuilt as another kind (or retrained) for ``n`` vectors.

    Exact becomes IVF at the threshold; IVF goes back to exact only below half of it, so a size
    hovering around the threshold does not flip kinds on every sync. An IVF index is retrained
    when its cell count is off by 4x for the current size (cells trained on 10k vectors would
    each hold thousands of vectors at 1M, and search would slow down).
    """
    if not vector_store.is_ivf(index):
        return vector_store.choose_kind(n, threshold=threshold) == vector_store.IVF
    if not threshold or n < threshold // 2:
        return True
    wanted_cells = min(vector_store.ann_nlist(n), n)  # training clamps cells to points
    return wanted_cells >= 4 * index.nlist or 4 * wanted_cells <= index.nlist


def _trained_ivf(model: str, ids: list[int]):
    """An empty IVF index trained on a deterministic sample of the stored vectors."""
    nlist = vector_store.ann_nlist(len(ids))
    sample_size = min(len(ids), vector_store.ivf_training_size(nlist))
    sample = sorted(random.Random(len(ids)).sample(ids, sample_size))  # noqa: S311 (not crypto)
    vectors = np.concatenate(
        [_vectors_for(model, sample[i : i + 5000]) for i in range(0, len(sample), 5000)]
    )
    return vector_store.ivf_index(vectors, nlist=nlist)


def index_sync(*, model: str | None = None, rebuild: bool = False) -> IndexSyncResult:
    """Apply the difference between live chunks and the index; choose exact or IVF by size
    (``SEARCH_ANN_THRESHOLD``), rebuilding when the kind changes."""
    config = RetrievalConfig.from_settings()
    model = model or config.embedding_model
    directory = _index_dir(model)
    with transaction.atomic():
        state = _lock_state(model)
        wanted = desired_ids(model)
        index = None
        if state.path and not rebuild and Path(state.path).exists():
            index = vector_store.index_read(state.path)
            if _needs_new_kind(index, len(wanted), threshold=config.ann_threshold):
                rebuild, index = True, None
        if index is None:
            kind = vector_store.choose_kind(len(wanted), threshold=config.ann_threshold)
            if kind == vector_store.IVF:
                index = _trained_ivf(model, sorted(wanted))
            else:
                dimension = state.dimension or load_embedder(model).dimension
                index = vector_store.empty_index(dimension)
        present = set(vector_store.index_ids(index).tolist())
        to_add = sorted(wanted - present)
        to_remove = sorted(present - wanted)
        if not to_add and not to_remove and state.path and not rebuild:
            return IndexSyncResult(model, state.version, state.size, 0, 0)
        # Insert in batches so a 58k-chunk rebuild does not hold every vector twice in memory.
        vector_store.index_apply(
            index,
            add_ids=np.zeros(0, dtype=np.int64),
            add_vectors=np.zeros((0, index.d), dtype=np.float32),
            remove_ids=np.asarray(to_remove, dtype=np.int64),
        )
        for start in range(0, len(to_add), 5000):
            batch = to_add[start : start + 5000]
            vector_store.index_apply(
                index,
                add_ids=np.asarray(batch, dtype=np.int64),
                add_vectors=_vectors_for(model, batch),
                remove_ids=np.zeros(0, dtype=np.int64),
            )
        new_version = state.version + 1
        path = vector_store.index_write(index, directory=directory, version=new_version)
        state.version = new_version
        state.path = str(path)
        state.size = int(index.ntotal)
        state.dimension = int(index.d)
        state.save()
    # Keep the previous file: a reader may be loading it right now.
    vector_store.prune_old_versions(directory, keep_from_version=new_version - 1)
    logger.info(
        "index %s v%s: %s vectors (+%s -%s)",
        model,
        new_version,
        state.size,
        len(to_add),
        len(to_remove),
    )
    return IndexSyncResult(model, new_version, state.size, len(to_add), len(to_remove))


@dataclass(frozen=True)
class IndexCheck:
    model: str
    ok: bool
    missing: int  # live chunks not in the index
    extra: int  # ids in the index that are not live chunks
    version: int


def index_check(*, model: str | None = None) -> IndexCheck:
    model = model or RetrievalConfig.from_settings().embedding_model
    state = VectorIndex.objects.filter(model=model).first()
    wanted = desired_ids(model)
    present: set[int] = set()
    if state and state.path and Path(state.path).exists():
        present = set(vector_store.index_ids(vector_store.index_read(state.path)).tolist())
    missing, extra = len(wanted - present), len(present - wanted)
    return IndexCheck(
        model, missing == 0 and extra == 0, missing, extra, state.version if state else 0
    )


def index_state(model: str) -> tuple[int, str]:
    """(version, file) of the model's dense index: what a searcher's caches are keyed on."""
    state = VectorIndex.objects.filter(model=model).values_list("version", "path").first()
    return state or (0, "")


def keyword_index_state() -> str:
    return KeywordIndex.objects.filter(pk=1).values_list("path", flat=True).first() or ""


@dataclass(frozen=True)
class AnnCheck:
    model: str
    kind: str  # "flat" (exact: recall 1 by definition) or "ivf"
    size: int
    nlist: int
    nprobe: int
    queries: int
    recall_at_k: float
    k: int


def ann_recall_check(
    *, model: str | None = None, queries: int = 100, k: int = 10, seed: int = 0
) -> AnnCheck:
    """recall@k of the current dense index against exact search over the stored vectors.

    Queries are stored vectors of randomly chosen live chunks, each mixed half-and-half with
    another random chunk's vector, so a query is near several passages rather than identical to
    one (an identical vector finds itself and flatters the index). Exact scores are computed
    from the database in batches, so this also works for 1M-chunk indexes.
    """
    config = RetrievalConfig.from_settings()
    model = model or config.embedding_model
    state = VectorIndex.objects.filter(model=model).first()
    if not state or not state.path or not Path(state.path).exists():
        return AnnCheck(model, vector_store.FLAT, 0, 0, 0, 0, 1.0, k)
    index = vector_store.index_read(state.path)
    nprobe = config.ann_nprobe
    if not vector_store.is_ivf(index):
        return AnnCheck(model, vector_store.FLAT, int(index.ntotal), 0, 0, 0, 1.0, k)
    ids = sorted(desired_ids(model))
    rng = random.Random(seed)  # noqa: S311 (sampling, not crypto)
    picked = [(rng.choice(ids), rng.choice(ids)) for _ in range(queries)]
    first = _vectors_for(model, [a for a, _ in picked])
    second = _vectors_for(model, [b for _, b in picked])
    query_vectors = first + second
    query_vectors /= np.linalg.norm(query_vectors, axis=1, keepdims=True) + 1e-12

    def batches():
        for start in range(0, len(ids), 5000):
            batch = ids[start : start + 5000]
            yield np.asarray(batch, dtype=np.int64), _vectors_for(model, batch)

    _, exact = vector_store.exact_topk(query_vectors, batches(), k=k)
    _, approx = vector_store.search(index, query_vectors, k=k, nprobe=nprobe)
    recall = vector_store.recall_vs_exact(approx, exact)
    return AnnCheck(
        model, vector_store.IVF, int(index.ntotal), index.nlist, nprobe, len(picked), recall, k
    )


class _LoadedIndexes:
    """Per-process cache of loaded indexes; reloads when the row points at another file."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loaded: dict[str, tuple[str, object]] = {}

    def get(self, model: str):
        state = VectorIndex.objects.filter(model=model).values("version", "path").first()
        if not state or not state["path"]:
            return None
        with self._lock:
            cached = self._loaded.get(model)
            if cached and cached[0] == state["path"]:
                return cached[1]
            config = RetrievalConfig.from_settings()
            vector_store.set_search_threads(config.threads)
            index = vector_store.for_search(
                vector_store.index_read(state["path"]), device=config.faiss_device
            )
            self._loaded[model] = (state["path"], index)
            return index


loaded_indexes = _LoadedIndexes()


def dense_search(
    *,
    query_vector: np.ndarray,
    k: int,
    allowed_ids: np.ndarray | None = None,
    model: str | None = None,
) -> list[tuple[int, float]]:
    """Nearest chunk ids and scores, only among ``allowed_ids`` when given (filtered inside the
    FAISS search, so a narrow filter still returns k results)."""
    config = RetrievalConfig.from_settings()
    model = model or config.embedding_model
    index = loaded_indexes.get(model)
    if index is None:
        return []
    scores, ids = vector_store.search(
        index,
        query_vector.reshape(1, -1),
        k=k,
        allowed_ids=allowed_ids,
        nprobe=config.ann_nprobe,
    )
    return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i != -1]


# --- keyword (BM25) index ----------------------------------------------------------------------


def _lock_keyword_state() -> KeywordIndex:
    try:
        with transaction.atomic():
            KeywordIndex.objects.get_or_create(pk=1)
    except IntegrityError:
        pass
    return KeywordIndex.objects.select_for_update().get(pk=1)


def keywords_refresh(*, batch: int = 2000) -> int:
    """Re-tokenize every live chunk's stored BM25 tokens from its text (after a tokenizer
    change); returns how many rows changed. Chunks are updated in batches, each its own
    statement, so a 58k-chunk refresh holds no long lock."""
    from ingestion.tokenize import tokenize

    ids = list(live_chunks().order_by("id").values_list("id", flat=True))
    changed = 0
    for start in range(0, len(ids), batch):
        rows = list(
            Chunk.objects.filter(pk__in=ids[start : start + batch]).only(
                "text", "keywords", "planted"
            )
        )
        stale = []
        for chunk in rows:
            keywords = " ".join(tokenize(chunk.evidence_text))
            if keywords != chunk.keywords:
                chunk.keywords = keywords
                stale.append(chunk)
        Chunk.objects.bulk_update(stale, ["keywords"])
        changed += len(stale)
    return changed


def keyword_index_sync(*, rebuild: bool = False) -> int:
    """Make the BM25 file hold exactly the live chunks; returns its version.

    Rebuilt whole when the live set changed: tokens are stored per chunk, so this reads one
    column and builds a sparse matrix (seconds at tens of thousands of chunks). ``rebuild``
    also re-tokenizes the stored tokens first, so a tokenizer change reaches old chunks.
    """
    if rebuild:
        refreshed = keywords_refresh()
        if refreshed:
            logger.info("re-tokenized %s chunks", refreshed)
    directory = database_index_dir() / "bm25"
    with transaction.atomic():
        state = _lock_keyword_state()
        wanted = set(live_chunks().values_list("id", flat=True))
        present: set[int] = set()
        if state.path and Path(state.path).exists() and not rebuild:
            present = set(BM25Index.read(state.path).ids.tolist())
            if present == wanted:
                return state.version
        rows = [
            (chunk_id, keywords.split())
            for chunk_id, keywords in live_chunks().order_by("id").values_list("id", "keywords")
        ]
        index = BM25Index.build(rows)
        state.version += 1
        state.path = str(index.write(directory=directory, version=state.version))
        state.size = len(index)
        state.save()
    vector_store.prune_old_versions(directory, keep_from_version=state.version - 1, prefix="bm25")
    return state.version


def keyword_index_check() -> IndexCheck:
    state = KeywordIndex.objects.filter(pk=1).first()
    wanted = set(live_chunks().values_list("id", flat=True))
    present: set[int] = set()
    if state and state.path and Path(state.path).exists():
        present = set(BM25Index.read(state.path).ids.tolist())
    missing, extra = len(wanted - present), len(present - wanted)
    return IndexCheck(
        "bm25", missing == 0 and extra == 0, missing, extra, state.version if state else 0
    )


def indexes_sync(*, rebuild: bool = False) -> IndexSyncResult:
    """Bring the dense index of the current model and the keyword index in step with the data."""
    result = index_sync(rebuild=rebuild)
    keyword_index_sync(rebuild=rebuild)
    return result


_loaded_keyword: tuple[str, BM25Index] | None = None
_keyword_lock = threading.Lock()


def keyword_index_loaded() -> BM25Index | None:
    global _loaded_keyword
    path = KeywordIndex.objects.filter(pk=1).values_list("path", flat=True).first()
    if not path:
        return None
    with _keyword_lock:
        if _loaded_keyword is None or _loaded_keyword[0] != path:
            _loaded_keyword = (path, BM25Index.read(path))
        return _loaded_keyword[1]
