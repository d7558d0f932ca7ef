"""The dense index kinds: exact and IVF, with filtering inside the search and recall vs exact."""

import numpy as np
import pytest

from ingestion import vector_store
from ingestion.vector_store import IdFilter


def clustered_vectors(n: int, dimension: int = 32, clusters: int = 40, seed: int = 0):
    """Unit vectors around random centres: the structure real embeddings have and IVF uses."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dimension))
    vectors = centres[rng.integers(0, clusters, n)] + 0.35 * rng.normal(size=(n, dimension))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors.astype(np.float32)


def test_kind_is_chosen_by_size_and_nlist_grows_with_it():
    assert vector_store.choose_kind(999, threshold=1000) == vector_store.FLAT
    assert vector_store.choose_kind(1000, threshold=1000) == vector_store.IVF
    assert vector_store.choose_kind(10**7, threshold=0) == vector_store.FLAT  # 0 disables
    assert vector_store.ann_nlist(100_000) == 512 and vector_store.ann_nlist(1_000_000) == 2048


def test_id_filter_membership():
    allowed = IdFilter(np.array([5, 3, 900, 3]))
    assert len(allowed) == 3
    assert allowed.contains(np.array([3, 4, 5, 900, 901, 10**9, -1])).tolist() == [
        True,
        False,
        True,
        True,
        False,
        False,
        False,
    ]
    with pytest.raises(ValueError):
        IdFilter(np.array([-2, 1]))


def test_ivf_index_tracks_adds_and_removes_and_filters_inside_the_search():
    vectors = clustered_vectors(4000)
    ids = np.arange(10_000, 14_000, dtype=np.int64)
    index = vector_store.ivf_index(vectors[:2000], nlist=32)
    assert vector_store.is_ivf(index)
    vector_store.index_apply(
        index, add_ids=ids, add_vectors=vectors, remove_ids=np.zeros(0, np.int64)
    )
    assert sorted(vector_store.index_ids(index).tolist()) == ids.tolist()

    removed = ids[:100]
    vector_store.index_apply(
        index,
        add_ids=np.zeros(0, np.int64),
        add_vectors=np.zeros((0, 32), np.float32),
        remove_ids=removed,
    )
    assert len(vector_store.index_ids(index)) == 3900
    _, found = vector_store.search(index, vectors[:5], k=10, nprobe=4)
    assert not set(found.ravel().tolist()) & set(removed.tolist())

    # A narrow filter (2% of the index): every result is allowed and k results still come back,
    # because nprobe grows with the filter's narrowness.
    allowed = IdFilter(ids[100::50])
    _, found = vector_store.search(index, vectors[200:210], k=10, allowed_ids=allowed, nprobe=4)
    assert (found != -1).all()
    assert allowed.contains(found.ravel()).all()


def test_ivf_recall_against_exact_search(tmp_path):
    vectors = clustered_vectors(6000, seed=1)
    ids = np.arange(6000, dtype=np.int64)
    index = vector_store.ivf_index(vectors, nlist=64)
    vector_store.index_apply(
        index, add_ids=ids, add_vectors=vectors, remove_ids=np.zeros(0, np.int64)
    )
    index = vector_store.index_read(vector_store.index_write(index, directory=tmp_path, version=1))
    assert vector_store.is_ivf(index)
    queries = clustered_vectors(50, seed=2)
    allowed = IdFilter(ids[ids % 3 != 0])
    batches = ((ids[i : i + 1000], vectors[i : i + 1000]) for i in range(0, 6000, 1000))
    _, exact = vector_store.exact_topk(queries, batches, k=10, allowed=allowed)
    _, approx = vector_store.search(index, queries, k=10, allowed_ids=allowed, nprobe=8)
    assert vector_store.recall_vs_exact(approx, exact) >= 0.95
    assert vector_store.recall_vs_exact(exact, exact) == 1.0
    # Exact search through a flat index agrees with the streamed reference.
    flat = vector_store.empty_index(32)
    vector_store.index_apply(
        flat, add_ids=ids, add_vectors=vectors, remove_ids=np.zeros(0, np.int64)
    )
    _, flat_ids = vector_store.search(flat, queries, k=10, allowed_ids=allowed)
    assert vector_store.recall_vs_exact(flat_ids, exact) == 1.0
