"""A BM25 keyword index stored as files, derived from the database like the FAISS index.

The term-frequency matrix is a SciPy CSC matrix (documents x terms) saved with the vocabulary and
the chunk ids in one ``.npz`` (no pickle), so a search touches only the columns of the query's
terms. Files are versioned and written atomically the same way as FAISS files.
"""

from __future__ import annotations

import json
import secrets
from collections import Counter
from pathlib import Path

import numpy as np
from scipy import sparse

from ingestion.atomic import write_atomically

K1 = 1.2
B = 0.75


class BM25Index:
    def __init__(
        self,
        *,
        ids: np.ndarray,
        matrix: sparse.csc_matrix,
        vocab: dict[str, int],
        k1: float = K1,
        b: float = B,
    ):
        self.ids = np.asarray(ids, dtype=np.int64)
        self.matrix = matrix.tocsc()
        self.vocab = vocab
        lengths = np.asarray(self.matrix.sum(axis=1)).ravel().astype(np.float32)
        self.lengths = lengths
        self.avg_length = float(lengths.mean()) if len(lengths) else 0.0
        df = np.diff(self.matrix.indptr).astype(np.float32)
        n = len(self.ids)
        self.idf = np.log(1.0 + (n - df + 0.5) / (df + 0.5)).astype(np.float32)
        # Each posting's whole BM25 contribution is computed once here, so a query only gathers
        # and adds the postings of its terms (no per-query pass over every document).
        tf = self.matrix.data.astype(np.float32)
        rows = self.matrix.indices
        norm = k1 * (1 - b + b * lengths[rows] / max(self.avg_length, 1e-6))
        term_idf = np.repeat(self.idf, np.diff(self.matrix.indptr))
        self.weights = (term_idf * tf * (k1 + 1) / (tf + norm)).astype(np.float32)

    @classmethod
    def build(cls, rows: list[tuple[int, list[str]]], **params: float) -> BM25Index:
        vocab: dict[str, int] = {}
        indptr, indices, data = [0], [], []
        for _, tokens in rows:
            counts = Counter(tokens)
            for term, tf in counts.items():
                indices.append(vocab.setdefault(term, len(vocab)))
                data.append(tf)
            indptr.append(len(indices))
        matrix = sparse.csr_matrix(
            (np.asarray(data, dtype=np.float32), np.asarray(indices, dtype=np.int32), indptr),
            shape=(len(rows), max(len(vocab), 1)),
        )
        return cls(
            ids=np.asarray([i for i, _ in rows], dtype=np.int64),
            matrix=matrix,
            vocab=vocab,
            **params,
        )

    def __len__(self) -> int:
        return len(self.ids)

    def mask_for(self, contains) -> np.ndarray:
        """Boolean mask over this index's rows from a membership test over chunk ids (e.g.
        ``IdFilter.contains``); computed once per allowed set, then reused by every search."""
        return np.asarray(contains(self.ids), dtype=bool)

    def search(
        self, tokens: list[str], *, k: int, allowed: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """Top-k (chunk id, score). ``allowed`` is a boolean mask over ``self.ids``: filtered
        rows never become candidates, so filtering happens inside the search, not after it."""
        columns = [self.vocab[t] for t in dict.fromkeys(tokens) if t in self.vocab]
        if not columns or not len(self.ids):
            return []
        indptr = self.matrix.indptr
        slices = [slice(indptr[c], indptr[c + 1]) for c in columns]
        rows = np.concatenate([self.matrix.indices[s] for s in slices])
        weights = np.concatenate([self.weights[s] for s in slices])
        if len(columns) == 1:
            candidates, scores = rows, weights
        elif len(rows) * 16 > len(self.ids):
            # Many postings: one dense pass over all rows is cheaper than sorting them.
            dense = np.bincount(rows, weights=weights, minlength=len(self.ids))
            candidates = np.flatnonzero(dense)
            scores = dense[candidates]
        else:
            candidates, inverse = np.unique(rows, return_inverse=True)
            scores = np.bincount(inverse, weights=weights)
        if allowed is not None:
            keep = allowed[candidates]
            candidates, scores = candidates[keep], scores[keep]
        if not len(candidates):
            return []
        if len(candidates) > k:
            part = np.argpartition(-scores, k - 1)[:k]
            candidates, scores = candidates[part], scores[part]
        # Ties broken by row (i.e. chunk id order), so results are deterministic.
        order = np.lexsort((candidates, -scores))
        return [(int(self.ids[candidates[i]]), float(scores[i])) for i in order[:k]]

    def write(self, *, directory: Path, version: int) -> Path:
        terms = sorted(self.vocab, key=self.vocab.__getitem__)

        def save(tmp: str) -> None:
            # An open handle, so numpy does not append ".npz" to the temporary name.
            with open(tmp, "wb") as handle:
                np.savez(
                    handle,
                    ids=self.ids,
                    data=self.matrix.data,
                    indices=self.matrix.indices,
                    indptr=self.matrix.indptr,
                    shape=np.asarray(self.matrix.shape),
                    vocab=np.frombuffer(
                        json.dumps(terms, ensure_ascii=False).encode(), dtype=np.uint8
                    ),
                )

        name = f"bm25-v{version}-{secrets.token_hex(4)}.npz"
        return write_atomically(directory, name, save)

    @classmethod
    def read(cls, path: str | Path) -> BM25Index:
        with np.load(path, allow_pickle=False) as data:
            terms = json.loads(data["vocab"].tobytes().decode())
            matrix = sparse.csc_matrix(
                (data["data"], data["indices"], data["indptr"]), shape=tuple(data["shape"])
            )
            return cls(ids=data["ids"], matrix=matrix, vocab={t: i for i, t in enumerate(terms)})
