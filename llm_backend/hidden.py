"""A GGUF model's mean-pooled last hidden state, as a feature for learned heads (llama.cpp).

The guard's harm cascade and ingestion's planted-instruction cascade (ingestion/cascade.py)
read the product's own LLM this way: one forward pass in embedding mode per text, mean-pooled,
L2-normalised. One encoder per (model, threads) per process, shared by both cascades; a lock
serialises its one llama context.
"""

from __future__ import annotations

import atexit
import threading
from functools import cache
from pathlib import Path

import numpy as np

from ingestion.cascade import HiddenHead, head_load
from llm_backend.model_files import file_sha256

MAX_CHARS = 1000  # a longer text is judged on its start (the guard's own limit on questions)


class HiddenEncoder:
    """Mean-pooled last hidden state of a GGUF model, L2-normalised (llama.cpp embedding mode)."""

    def __init__(self, model_path: Path, *, threads: int = 0) -> None:
        import llama_cpp

        self.path = Path(model_path)
        self._llm = llama_cpp.Llama(
            model_path=str(self.path),
            embedding=True,
            pooling_type=llama_cpp.LLAMA_POOLING_TYPE_MEAN,
            n_ctx=512,
            n_threads=threads or None,
            verbose=False,
        )
        self._lock = threading.Lock()  # one llama context: one encode at a time

    def close(self) -> None:
        self._llm.close()

    def encode(self, texts: list[str]) -> np.ndarray:
        rows = []
        with self._lock:
            for text in texts:
                vector = np.asarray(self._llm.embed(text[:MAX_CHARS]), dtype=np.float64).ravel()
                rows.append(vector / (np.linalg.norm(vector) or 1.0))
        return np.stack(rows) if rows else np.zeros((0, 0))


@cache
def model_sha256(path: str) -> str:
    return file_sha256(Path(path))


@cache
def encoder_for(path: str, threads: int = 2) -> HiddenEncoder:
    """The process's encoder for this model (loaded once; raises ImportError without llama.cpp,
    ValueError / RuntimeError for a file it cannot load)."""
    encoder = HiddenEncoder(Path(path), threads=threads)
    # Freed before the interpreter tears llama.cpp's bindings down (else a TypeError at exit).
    atexit.register(encoder.close)
    return encoder


def head_for_model(head_path: str, model: Path) -> tuple[HiddenHead | None, str]:
    """The head file at ``head_path`` when ``model`` is there and is the model it was fitted on;
    otherwise None and why (features of another model mean nothing to a head)."""
    head = head_load(head_path)
    if head is None or not model.is_file():
        return None, f"no head file or no model at {model}"
    if model_sha256(str(model)) != head.model_sha256:
        return None, f"{model.name} is not the model the head was fitted on"
    return head, ""
