"""FAISS indexes as versioned files: build, update, save atomically, load, search.

Two kinds of index, chosen by size (``choose_kind``): below the approximate-search threshold an
exact ``IndexIDMap2(IndexFlatIP)``; above it an ``IndexIVFFlat`` (inverted lists over k-means
cells, ``nprobe`` cells searched per query) trained from the stored vectors. Both take
``add_with_ids`` / ``remove_ids`` and a search-time ID selector, so the same incremental sync and
the same in-search filtering work for either. HNSW was not chosen: FAISS cannot remove vectors
from it, so deletions would force a rebuild. IVF-PQ was not needed: flat IVF lists met the
recall target at 1M chunks (see the README's benchmark).

The database holds every chunk's vector; an index file is a derived accelerator that can always be
rebuilt. Each write produces a new file ``index-v{N}-{random}.faiss`` (written to a temporary
name, fsynced, then renamed), so a reader never sees a half-written index and can keep using the
old one until it notices the new one. The random part makes every file name unique even when a
database restore sends version numbers back, so readers can key their cache on the path.
"""

from __future__ import annotations

import logging
import math
import secrets
from pathlib import Path

import faiss
import numpy as np

from ingestion.atomic import write_atomically

logger = logging.getLogger(__name__)


def empty_index(dimension: int) -> faiss.Index:
    # IndexIDMap2 keeps ids next to vectors so search returns chunk ids and remove_ids works.
    return faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))


FLAT = "flat"
IVF = "ivf"


def ann_nlist(n: int) -> int:
    """Number of IVF cells for ``n`` vectors: about 2 * sqrt(n), a power of two.

    Fewer, larger cells than the usual 4 * sqrt(n): a query then scans more vectors per probed
    cell (cheap with one query at a time) and recall against exact search stays high.
    """
    return int(min(65536, max(16, 2 ** round(math.log2(2 * math.sqrt(max(n, 1)))))))


def choose_kind(n: int, *, threshold: int) -> str:
    """Exact search below ``threshold`` vectors (0 disables approximate search), IVF from it."""
    return IVF if threshold and n >= threshold else FLAT


def is_ivf(index: faiss.Index) -> bool:
    return isinstance(index, faiss.IndexIVF)


def ivf_index(train_vectors: np.ndarray, *, nlist: int, seed: int = 1234) -> faiss.Index:
    """An empty, trained IVF index (inner product) whose cells come from ``train_vectors``.

    k-means needs ~40 training points per cell; callers pass a sample of the stored vectors
    (``ivf_training_size``), not all of them, so training a 1M-vector index takes seconds.
    """
    train_vectors = np.ascontiguousarray(train_vectors, dtype=np.float32)
    dimension = train_vectors.shape[1]
    nlist = max(1, min(nlist, len(train_vectors)))
    index = faiss.IndexIVFFlat(
        faiss.IndexFlatIP(dimension), dimension, nlist, faiss.METRIC_INNER_PRODUCT
    )
    index.cp.seed = seed
    index.cp.niter = 12
    # The default cap (256 per cell) is plenty; more would only slow training.
    index.cp.max_points_per_centroid = 256
    index.train(train_vectors)
    return index


def ivf_training_size(nlist: int) -> int:
    return nlist * 64


def index_ids(index: faiss.Index) -> np.ndarray:
    if is_ivf(index):
        lists = index.invlists
        parts = [
            faiss.rev_swig_ptr(lists.get_ids(cell), lists.list_size(cell)).copy()
            for cell in range(index.nlist)
            if lists.list_size(cell)
        ]
        return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, dtype=np.int64)
    return faiss.vector_to_array(index.id_map).astype(np.int64)


class IdFilter:
    """The set of chunk ids a search may return, prepared once for many searches.

    A bitmap selector (one bit per possible id) costs one memory read per candidate, where
    ``IDSelectorBatch`` hashes every id; building it for 800k ids also took tens of
    milliseconds, so callers cache an IdFilter per allowed set rather than per query.
    """

    def __init__(self, ids: np.ndarray) -> None:
        self.ids = np.unique(np.asarray(ids, dtype=np.int64))
        if len(self.ids) and self.ids[0] < 0:
            raise ValueError("chunk ids must be non-negative")
        size = int(self.ids[-1]) + 1 if len(self.ids) else 0
        bits = np.zeros(size, dtype=bool)
        bits[self.ids] = True
        self._bitmap = np.packbits(bits, bitorder="little")
        self.selector = faiss.IDSelectorBitmap(self._bitmap)

    def __len__(self) -> int:
        return len(self.ids)

    def contains(self, ids: np.ndarray) -> np.ndarray:
        ids = np.asarray(ids, dtype=np.int64)
        inside = (ids >= 0) & (ids < len(self._bitmap) * 8)
        out = np.zeros(ids.shape, dtype=bool)
        safe = ids[inside]
        out[inside] = (self._bitmap[safe >> 3] >> (safe & 7)) & 1 == 1
        return out


def index_apply(
    index: faiss.Index, *, add_ids: np.ndarray, add_vectors: np.ndarray, remove_ids: np.ndarray
) -> None:
    if len(remove_ids):
        index.remove_ids(np.asarray(remove_ids, dtype=np.int64))
    if len(add_ids):
        index.add_with_ids(
            np.ascontiguousarray(add_vectors, dtype=np.float32),
            np.asarray(add_ids, dtype=np.int64),
        )


def index_write(index: faiss.Index, *, directory: Path, version: int) -> Path:
    name = f"index-v{version}-{secrets.token_hex(4)}.faiss"
    return write_atomically(directory, name, lambda tmp: faiss.write_index(index, tmp))


def index_read(path: str | Path) -> faiss.Index:
    return faiss.read_index(str(path))


def prune_old_versions(directory: Path, *, keep_from_version: int, prefix: str = "index") -> None:
    """Delete index files older than ``keep_from_version`` (a reader may hold the one before)."""
    for path in directory.glob(f"{prefix}-v*"):
        try:
            number = int(path.stem.removeprefix(f"{prefix}-v").split("-")[0])
        except ValueError:
            continue
        if number < keep_from_version:
            path.unlink(missing_ok=True)


def gpu_available() -> bool:
    get_num_gpus = getattr(faiss, "get_num_gpus", None)
    return bool(get_num_gpus and get_num_gpus() > 0)


def for_search(index: faiss.Index, *, device: str) -> faiss.Index:
    """Move an index to the GPU for searching when asked to (or "auto" and one is present)."""
    if device == "cpu" or (device == "auto" and not gpu_available()):
        return index
    if not gpu_available():
        raise RuntimeError("FAISS_DEVICE=gpu but no GPU is visible to the faiss GPU build.")
    resources = faiss.StandardGpuResources()
    return faiss.index_cpu_to_gpu(resources, 0, index)


def set_search_threads(threads: int) -> None:
    # On small machines several OpenMP threads per process under contention were measured
    # 5-30x slower than one (see MODELS.md); the SEARCH_THREADS setting picks.
    faiss.omp_set_num_threads(threads)


def search(
    index: faiss.Index,
    queries: np.ndarray,
    *,
    k: int,
    allowed_ids: np.ndarray | IdFilter | None = None,
    nprobe: int = 16,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k per query; with ``allowed_ids`` only those ids are candidates (an ID selector, so
    the filter is applied inside the search rather than to its results).

    On an IVF index ``nprobe`` cells are scanned, scaled up by the inverse of the filter's
    selectivity: with half the chunks allowed twice as many cells are searched, so about as many
    allowed vectors are compared as an unfiltered search would compare (a narrow filter would
    otherwise find fewer than k results).
    """
    if isinstance(allowed_ids, np.ndarray):
        allowed_ids = IdFilter(allowed_ids)
    if index.ntotal == 0 or (allowed_ids is not None and len(allowed_ids) == 0):
        empty = np.zeros((len(queries), 0))
        return empty.astype(np.float32), empty.astype(np.int64)
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    k = min(k, index.ntotal)
    selector = allowed_ids.selector if allowed_ids is not None else None
    if is_ivf(index):
        share = len(allowed_ids) / index.ntotal if allowed_ids is not None else 1.0
        cells = min(index.nlist, max(1, math.ceil(nprobe / max(share, 1e-9))))
        params = faiss.SearchParametersIVF(sel=selector, nprobe=cells)
        return index.search(queries, k, params=params)
    if selector is None:
        return index.search(queries, k)
    try:
        return index.search(queries, k, params=faiss.SearchParameters(sel=selector))
    except RuntimeError:
        # GPU indexes reject search-time selectors: oversample, then keep allowed ids only.
        return _search_then_filter(index, queries, k=k, allowed=allowed_ids)


def _search_then_filter(
    index: faiss.Index, queries: np.ndarray, *, k: int, allowed: IdFilter
) -> tuple[np.ndarray, np.ndarray]:
    scores, ids = index.search(queries, min(index.ntotal, max(k * 20, 200)))
    keep = allowed.contains(ids) & (ids != -1)
    out_scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
    out_ids = np.full((len(queries), k), -1, dtype=np.int64)
    for row in range(len(queries)):
        found_ids, found_scores = ids[row][keep[row]][:k], scores[row][keep[row]][:k]
        out_ids[row, : len(found_ids)] = found_ids
        out_scores[row, : len(found_scores)] = found_scores
    return out_scores, out_ids


def exact_topk(
    queries: np.ndarray, batches, *, k: int, allowed: IdFilter | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Exact inner-product top-k over vectors streamed as ``(ids, vectors)`` batches, so the
    reference for an approximate index can be computed without holding every vector twice."""
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    best_scores = np.full((len(queries), 0), -np.inf, dtype=np.float32)
    best_ids = np.zeros((len(queries), 0), dtype=np.int64)
    for ids, vectors in batches:
        ids = np.asarray(ids, dtype=np.int64)
        vectors = np.asarray(vectors, dtype=np.float32)
        if allowed is not None:
            keep = allowed.contains(ids)
            ids, vectors = ids[keep], vectors[keep]
        if not len(ids):
            continue
        scores = queries @ vectors.T
        all_scores = np.concatenate([best_scores, scores], axis=1)
        all_ids = np.concatenate([best_ids, np.broadcast_to(ids, scores.shape)], axis=1)
        take = min(k, all_scores.shape[1])
        part = np.argpartition(-all_scores, take - 1, axis=1)[:, :take]
        best_scores = np.take_along_axis(all_scores, part, axis=1)
        best_ids = np.take_along_axis(all_ids, part, axis=1)
    order = np.argsort(-best_scores, axis=1, kind="stable")
    return np.take_along_axis(best_scores, order, axis=1), np.take_along_axis(
        best_ids, order, axis=1
    )


def recall_vs_exact(approx_ids: np.ndarray, exact_ids: np.ndarray) -> float:
    """Mean share of the exact top-k that the approximate top-k found (recall@k vs exact)."""
    shares = []
    for found, truth in zip(approx_ids, exact_ids, strict=True):
        truth = {int(i) for i in truth if i != -1}
        if truth:
            shares.append(len(truth & {int(i) for i in found if i != -1}) / len(truth))
    return float(np.mean(shares)) if shares else 1.0
