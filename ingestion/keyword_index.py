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
    def __init__(self, *, ids: np.ndarray, matrix: sparse.csc_matrix, vocab: dict[str, int]):
        self.ids = np.asarray(ids, dtype=np.int64)
        self.matrix = matrix.tocsc()
        self.vocab = vocab
        lengths = np.asarray(self.matrix.sum(axis=1)).ravel().astype(np.float32)
        self.lengths = lengths
        self.avg_length = float(lengths.mean()) if len(lengths) else 0.0
        df = np.diff(self.matrix.indptr).astype(np.float32)
        n = len(self.ids)
        self.idf = np.log(1.0 + (n - df + 0.5) / (df + 0.5)).astype(np.float32)

    @classmethod
    def build(cls, rows: list[tuple[int, list[str]]]) -> BM25Index:
        vocab: dict[str, int] = {}
        indptr, indices, data = [0], [], []
        for _, tokens in rows:
            counts = Counter(tokens)
            for term, tf in counts.items():
                indices.append(vocab.setdefault(term, len(vocab)))
                data.append(tf)
            indptr.append(len(indices))
        matrix = sparse.csr_matrix(
            (np.asarray(data, dtype=np.float32), np.asarray(indices, dtype=np.int64), indptr),
            shape=(len(rows), max(len(vocab), 1)),
        )
        return cls(ids=np.asarray([i for i, _ in rows], dtype=np.int64), matrix=matrix, vocab=vocab)

    def __len__(self) -> int:
        return len(self.ids)

    def search(
        self, tokens: list[str], *, k: int, allowed: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """Top-k (chunk id, score). ``allowed`` is a boolean mask over ``self.ids``: filtered
        rows score nothing, so filtering happens inside the search, not after it."""
        columns = [self.vocab[t] for t in dict.fromkeys(tokens) if t in self.vocab]
        if not columns or not len(self.ids):
            return []
        scores = np.zeros(len(self.ids), dtype=np.float32)
        norm = K1 * (1 - B + B * self.lengths / max(self.avg_length, 1e-6))
        for column in columns:
            start, end = self.matrix.indptr[column], self.matrix.indptr[column + 1]
            rows = self.matrix.indices[start:end]
            tf = self.matrix.data[start:end]
            scores[rows] += self.idf[column] * tf * (K1 + 1) / (tf + norm[rows])
        if allowed is not None:
            scores[~allowed] = 0.0
        candidates = np.flatnonzero(scores > 0)
        if not len(candidates):
            return []
        top = candidates[np.argsort(-scores[candidates], kind="stable")[:k]]
        return [(int(self.ids[i]), float(scores[i])) for i in top]

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
