"""The guard's second opinion: a harm head over the local LLM's own hidden states.

The first learned layer (learned.py) reads the question's sentence embedding and n-grams. On the
near misses (harmful requests phrased politely, harmless ones with alarming words) that
embedding is at its limit: no threshold meets both the harmful-caught and harmless-refused
targets on dev. The LLM the product already ships reads a request differently; on 1,600 dev near
misses (out of fold, logistic, 3% of harmless refused) its mean-pooled last hidden state caught
0.64 / 0.59 of harmful requests (en / zh) where the sentence embedding alone caught 0.45 / 0.36
(docs/decisions.md).

It costs a forward pass (~0.15 s on two CPU cores for a 0.5B model), so it runs as a cascade:
only questions the first head scores at or above ``floor`` (its language's) are encoded, and for
those the decision is the mean of the two heads' logits against the cascade's own threshold.
Below the floor the first head's "safe" stands, which keeps the guard's p50 where it was: the
floor is set so that nearly every ordinary question stays below it (the fit reports the share).

The head file (``data/safety_hidden.json``, written by ``manage.py safety_fit``) names the
model's SHA-256: features of another model mean nothing to it, so with another model configured
the cascade is off (logged once) and the first head decides alone.
"""

from __future__ import annotations

import atexit
import json
import logging
import math
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from django.conf import settings

from llm_backend.model_files import file_sha256

logger = logging.getLogger(__name__)

SAFETY_HIDDEN_FILE = Path(__file__).resolve().parent / "data" / "safety_hidden.json"
MAX_CHARS = 1000  # a question longer than this is judged on its start (the guard's own limit)


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
def encoder_for(path: str) -> HiddenEncoder:
    encoder = HiddenEncoder(Path(path), threads=settings.SAFETY_HIDDEN_THREADS)
    # Freed before the interpreter tears llama.cpp's bindings down (else a TypeError at exit).
    atexit.register(encoder.close)
    return encoder


@dataclass(frozen=True)
class HiddenHead:
    """Standardised logistic head over the hidden state, and the cascade's floor and
    thresholds per language (``*``: any other)."""

    version: str
    model_sha256: str
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float
    floors: dict[str, float]  # first-head harm score from which the cascade runs
    thresholds: dict[str, float]  # on ``combined``: the mean of the two logits, as a probability
    dev: dict

    @classmethod
    def from_dict(cls, data: dict) -> HiddenHead:
        return cls(
            version=data["version"],
            model_sha256=data["model_sha256"],
            mean=np.array(data["mean"], dtype=np.float64),
            scale=np.array(data["scale"], dtype=np.float64),
            weights=np.array(data["weights"], dtype=np.float64),
            bias=float(data["bias"]),
            floors={k: float(v) for k, v in data["floors"].items()},
            thresholds={k: float(v) for k, v in data["thresholds"].items()},
            dev=data.get("dev", {}),
        )

    def probability(self, vectors: np.ndarray) -> np.ndarray:
        z = ((vectors - self.mean) / self.scale) @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(-np.clip(z, -35, 35)))

    def floor(self, language: str) -> float:
        return self.floors.get(language, self.floors.get("*", 1.0))

    def threshold(self, language: str) -> float:
        return self.thresholds.get(language, self.thresholds.get("*", math.inf))


def logit(p: float) -> float:
    p = min(max(float(p), 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def combined(first: float, hidden: float) -> float:
    """The cascade's score: the mean of the two heads' logits, as a probability (the fit chose
    its thresholds on this same number)."""
    return 1.0 / (1.0 + math.exp(-(logit(first) + logit(hidden)) / 2))


@cache
def _head(path: str) -> HiddenHead | None:
    file = Path(path)
    if not file.is_file():
        return None
    return HiddenHead.from_dict(json.loads(file.read_text(encoding="utf-8")))


def hidden_head() -> HiddenHead | None:
    """The configured head, or None when the cascade is off, not fitted, or fitted on another
    model than the one configured (SAFETY_HIDDEN_MODEL)."""
    if not settings.SAFETY_HIDDEN:
        return None
    head = _head(str(settings.SAFETY_HIDDEN_PATH or SAFETY_HIDDEN_FILE))
    model = Path(settings.SAFETY_HIDDEN_MODEL)
    if head is None or not model.is_file():
        _warn_once(f"harm cascade off: no head file or no model at {model}")
        return None
    if model_sha256(str(model)) != head.model_sha256:
        _warn_once(f"harm cascade off: {model.name} is not the model the head was fitted on")
        return None
    return head


@cache
def _warn_once(message: str) -> None:
    logger.warning("%s", message)


def hidden_score(text: str) -> float | None:
    """The hidden-state head's harm probability for one question, or None when it is off."""
    head = hidden_head()
    if head is None:
        return None
    try:
        encoder = encoder_for(str(settings.SAFETY_HIDDEN_MODEL))
    except (ImportError, ValueError, RuntimeError) as exc:
        # No llama.cpp here (a deployment that only talks to an inference server), or a model
        # it cannot load: the first head decides alone, as with the cascade switched off.
        _warn_once(f"harm cascade off: cannot load {settings.SAFETY_HIDDEN_MODEL}: {exc}")
        return None
    return float(head.probability(encoder.encode([text]))[0])
