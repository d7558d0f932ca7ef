"""FAISS indexes as versioned files: build, update, save atomically, load, search.

The database holds every chunk's vector; an index file is a derived accelerator that can always be
rebuilt. Each write produces a new file ``index-v{N}-{random}.faiss`` (written to a temporary
name, fsynced, then renamed), so a reader never sees a half-written index and can keep using the
old one until it notices the new one. The random part makes every file name unique even when a
database restore sends version numbers back, so readers can key their cache on the path.
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

import faiss
import numpy as np

from ingestion.atomic import write_atomically

logger = logging.getLogger(__name__)


def empty_index(dimension: int) -> faiss.Index:
    # IndexIDMap2 keeps ids next to vectors so search returns chunk ids and remove_ids works.
    return faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))


def index_ids(index: faiss.Index) -> np.ndarray:
    return faiss.vector_to_array(index.id_map).astype(np.int64)


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
    index: faiss.Index, queries: np.ndarray, *, k: int, allowed_ids: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k per query; with ``allowed_ids`` only those ids are candidates (an IDSelector, so the
    filter is applied inside the search rather than to its results)."""
    if index.ntotal == 0 or (allowed_ids is not None and len(allowed_ids) == 0):
        empty = np.zeros((len(queries), 0))
        return empty.astype(np.float32), empty.astype(np.int64)
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    k = min(k, index.ntotal)
    if allowed_ids is None:
        return index.search(queries, k)
    selector = faiss.IDSelectorBatch(np.ascontiguousarray(allowed_ids, dtype=np.int64))
    try:
        return index.search(queries, k, params=faiss.SearchParameters(sel=selector))
    except RuntimeError:
        # GPU indexes reject search-time selectors: oversample, then keep allowed ids only.
        return _search_then_filter(index, queries, k=k, allowed_ids=allowed_ids)


def _search_then_filter(
    index: faiss.Index, queries: np.ndarray, *, k: int, allowed_ids: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    scores, ids = index.search(queries, min(index.ntotal, max(k * 20, 200)))
    keep = np.isin(ids, allowed_ids)
    out_scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
    out_ids = np.full((len(queries), k), -1, dtype=np.int64)
    for row in range(len(queries)):
        found_ids, found_scores = ids[row][keep[row]][:k], scores[row][keep[row]][:k]
        out_ids[row, : len(found_ids)] = found_ids
        out_scores[row, : len(found_scores)] = found_scores
    return out_scores, out_ids
