"""A GGUF model's last hidden states, as features for learned heads (llama.cpp).

- ``HiddenEncoder``: one vector per text, mean-pooled and L2-normalised. The guard's harm
  cascade and ingestion's planted-instruction cascade (ingestion/cascade.py) read the product's
  own LLM this way.
- ``TokenEncoder``: one vector per token, for the question redactor's name tagger
  (portal/safety/names.py). A causal model's state at a token has seen only what came before
  it, and whether "王" starts a name depends on what follows ("王芳说" vs "王府井"), so the text
  is read twice ("echo" embeddings, Springer et al. 2024) and the second copy's states are
  returned: each has seen the whole text once.

One encoder per (model, threads) per process and kind; a lock serialises its one llama context.
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


def _embedding_model(path: Path, threads: int, pooling: str, **context):
    """A llama.cpp context in embedding mode with ``pooling`` ("MEAN", "NONE")."""
    import llama_cpp

    return llama_cpp.Llama(
        model_path=str(path),
        embedding=True,
        pooling_type=getattr(llama_cpp, f"LLAMA_POOLING_TYPE_{pooling}"),
        n_threads=threads or None,
        verbose=False,
        **context,
    )


class HiddenEncoder:
    """Mean-pooled last hidden state of a GGUF model, L2-normalised (llama.cpp embedding mode)."""

    def __init__(self, model_path: Path, *, threads: int = 0) -> None:
        self.path = Path(model_path)
        self._llm = _embedding_model(self.path, threads, "MEAN", n_ctx=512)
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


class TokenEncoder:
    """Per-token last hidden states of ``text``, read twice; the second copy's, with the
    character span of ``text`` each token covers (llama.cpp embedding mode, no pooling)."""

    def __init__(self, model_path: Path, *, threads: int = 0) -> None:
        self.path = Path(model_path)
        self._llm = _embedding_model(
            self.path, threads, "NONE", n_ctx=2048, n_batch=2048, n_ubatch=512
        )
        self._lock = threading.Lock()

    def close(self) -> None:
        self._llm.close()

    def encode(self, text: str) -> tuple[list[tuple[int, int]], np.ndarray]:
        """(token spans in ``text``, their vectors): spans are character offsets, one per
        token of the second reading that lies wholly inside it."""
        text = text[:MAX_CHARS]
        full = (text + "\n" + text).encode("utf-8")
        second = len(text.encode("utf-8")) + 1  # byte where the second copy starts
        floor, ceil = _char_offsets(text)
        with self._lock:
            tokens = self._llm.tokenize(full)
            vectors = self._llm.embed(full.decode("utf-8"))
            pieces = [self._llm.detokenize([t]) for t in tokens]
        if len(vectors) != len(tokens):
            raise RuntimeError(f"{len(vectors)} vectors for {len(tokens)} tokens")
        spans, rows, pos = [], [], 0
        for piece, vector in zip(pieces, vectors, strict=True):
            start, pos = pos, pos + len(piece)
            if start >= second and pos > start:
                spans.append((floor[start - second], ceil[pos - second]))
                rows.append(vector)
        matrix = np.asarray(rows, dtype=np.float32).reshape(len(rows), -1)
        return spans, matrix


def _char_offsets(text: str) -> tuple[list[int], list[int]]:
    """For each byte offset of ``text`` in UTF-8 (and its end): the character it falls in, and
    the character boundary at or after it. A token may end inside a character (a byte-level
    vocabulary splits rare Han characters); its span then takes the whole character."""
    floor, ceil = [], []
    for i, ch in enumerate(text):
        n = len(ch.encode("utf-8"))
        floor.extend([i] * n)
        ceil.extend([i] + [i + 1] * (n - 1))
    floor.append(len(text))
    ceil.append(len(text))
    return floor, ceil


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


@cache
def token_encoder_for(path: str, threads: int = 2) -> TokenEncoder:
    """The process's per-token encoder for this model (as ``encoder_for``)."""
    encoder = TokenEncoder(Path(path), threads=threads)
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
