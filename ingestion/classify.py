"""Small learned text classifiers over the product's sentence embeddings (no Django).

A classifier file (JSON) holds one or more *heads*: a logistic model over the L2-normalised
embedding of a text and its hashed word / character n-grams (optionally averaged, in logits, with
a one-hidden-layer network over the embedding: ``Mlp``), plus the decision thresholds chosen
for it on dev data, per language. The embedding carries meaning across phrasings and languages;
the n-grams carry the few words that flip a request's intent ("without being caught", "不被发现"),
which a sentence embedding blurs (dev, issue 20: Chinese contrast recall 0.59 -> 0.76 at the same
false-refusal rate when n-grams were added). The
file also records which embedder it was trained with, the hash of its training data and the dev
figures behind each threshold, so a running process can say exactly what decided.

Two files ship with the product, both fitted by ``manage.py safety_fit`` (portal/evaluation):

- ``portal/safety/data/safety_classifier.json``: ``harm`` (a request the service must refuse) and
  ``medication`` / ``medication_hold`` (a question about changing someone's medicines);
- ``ingestion/data/planted_classifier.json``: ``planted`` (a document sentence addressed to an AI
  that reads it, i.e. a planted instruction).

Scoring one text costs one embedding (~2-5 ms with the default multilingual encoder on one
thread) and a dot product per head.
"""

from __future__ import annotations

import json
import math
import re
import threading
import zlib
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from ingestion.embedding import load_embedder
from textkit import CJK_RANGES, is_cjk_char

DATA_DIR = Path(__file__).resolve().parent / "data"
PLANTED_FILE = DATA_DIR / "planted_classifier.json"
NGRAM_DIM = 1 << 15
# Lower-cased Latin words and numbers, and single Chinese characters: English n-grams are word
# uni/bigrams, Chinese ones character uni/bi/trigrams (no segmenter needed, none can drift).
_TOKEN = re.compile(rf"[a-z0-9']+|[{CJK_RANGES}]")


def ngrams(text: str) -> list[int]:
    """The hashed n-gram indices of ``text`` (sorted, unique)."""
    if len(text) <= _NGRAM_MEMO_CHARS:
        return list(_ngrams_memo(text))
    return _ngrams(text)


# Every head of a file reads the same text's n-grams (the guard asks four heads about one
# question), and the hashing loop is most of a head's cost: memoise it per text.
_NGRAM_MEMO_CHARS = 2000


@lru_cache(maxsize=1024)
def _ngrams_memo(text: str) -> tuple[int, ...]:
    return tuple(_ngrams(text))


def _ngrams(text: str) -> list[int]:
    tokens = _TOKEN.findall(text.lower())
    found: set[int] = set()
    for n in (1, 2, 3):
        for i in range(len(tokens) - n + 1):
            gram = tokens[i : i + n]
            if n == 3 and not all(is_cjk_char(t[0]) for t in gram):
                continue
            found.add(zlib.crc32(" ".join(gram).encode("utf-8")) % NGRAM_DIM)
    return sorted(found)


def ngram_value(indices: list[int]) -> float:
    """Each present n-gram's feature value: the row is L2-normalised like the embedding."""
    return 1.0 / math.sqrt(len(indices)) if indices else 0.0


@dataclass(frozen=True)
class Mlp:
    """relu(x W1 + b1) w2 + b2: the logit of a small network over the embedding."""

    w1: np.ndarray  # (dim, hidden)
    b1: np.ndarray  # (hidden,)
    w2: np.ndarray  # (hidden,)
    b2: float

    def logits(self, vectors: np.ndarray) -> np.ndarray:
        hidden = np.maximum(vectors @ self.w1 + self.b1, 0.0)
        return hidden @ self.w2 + self.b2

    @classmethod
    def from_dict(cls, data: dict) -> Mlp:
        return cls(
            w1=np.asarray(data["w1"], dtype=np.float32),
            b1=np.asarray(data["b1"], dtype=np.float32),
            w2=np.asarray(data["w2"], dtype=np.float32),
            b2=float(data["b2"]),
        )


@dataclass(frozen=True)
class Head:
    """A logistic model over an embedding; ``thresholds`` maps a language (or "*") to the
    probability from which the head fires."""

    name: str
    weights: np.ndarray
    bias: float
    thresholds: dict[str, float]
    dev: dict = field(default_factory=dict)  # the dev figures that chose the thresholds
    ngram_weights: dict[int, float] = field(default_factory=dict)  # absent n-grams weigh 0
    # "embedding": the head reads a text's embedding (and n-grams); any other name: a vector its
    # caller builds (e.g. the harm-in-context combiner's few features).
    inputs: str = "embedding"
    # Optional second member: a one-hidden-layer network over the embedding alone, whose logit
    # is averaged with the linear one. A linear model can only add "reads like a task" to
    # "names a dangerous topic"; the network can require both (dev, session 15: once harmless
    # tasks in the benchmarks' form were negatives, recall at the same false rate rose en 0.887
    # -> 0.944, zh 0.762 -> 0.818 with it). None: the linear model alone.
    mlp: Mlp | None = None
    # ``ngram_weights`` as one dense row, so a text's n-gram term is one gather and sum.
    _ngram_row: np.ndarray | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.ngram_weights:
            row = np.zeros(NGRAM_DIM, dtype=np.float64)
            keys = np.fromiter(self.ngram_weights.keys(), dtype=np.int64)
            row[keys] = np.fromiter(self.ngram_weights.values(), dtype=np.float64)
            object.__setattr__(self, "_ngram_row", row)

    def probabilities(self, vectors: np.ndarray, texts: list[str]) -> np.ndarray:
        z = vectors @ self.weights + self.bias
        if self._ngram_row is not None:
            for i, text in enumerate(texts):
                found = ngrams(text)
                if found:
                    z[i] += ngram_value(found) * float(self._ngram_row[found].sum())
        if self.mlp is not None:
            z = (z + self.mlp.logits(vectors)) / 2.0
        return 1.0 / (1.0 + np.exp(-np.clip(z, -40.0, 40.0)))

    def threshold(self, language: str) -> float:
        return float(self.thresholds.get(language, self.thresholds.get("*", 0.5)))


@dataclass(frozen=True)
class EmbeddingClassifier:
    version: str
    embedder: str
    data_hash: str
    heads: dict[str, Head]

    @classmethod
    def from_dict(cls, data: dict) -> EmbeddingClassifier:
        heads = {
            name: Head(
                name=name,
                weights=np.asarray(part["weights"], dtype=np.float32),
                bias=float(part["bias"]),
                thresholds={k: float(v) for k, v in part["thresholds"].items()},
                dev=part.get("dev", {}),
                ngram_weights={int(k): float(v) for k, v in part.get("ngrams", {}).items()},
                inputs=part.get("inputs", "embedding"),
                mlp=Mlp.from_dict(part["mlp"]) if part.get("mlp") else None,
            )
            for name, part in data["heads"].items()
        }
        return cls(data["version"], data["embedder"], data["data_hash"], heads)

    @classmethod
    def from_file(cls, path: Path) -> EmbeddingClassifier:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise FileNotFoundError(
                f"classifier file {path} is missing: run `manage.py safety_fit` or point the "
                "setting at a fitted file"
            ) from exc
        return cls.from_dict(data)

    def embed(self, texts: list[str]) -> np.ndarray:
        return _embed_cached(self.embedder, texts)

    def scores(self, texts: list[str], heads: tuple[str, ...] | None = None) -> dict[str, list]:
        """{head: [probability per text]} for the named heads (default: every head that reads
        an embedding)."""
        vectors = self.embed(texts)
        names = heads or tuple(n for n, h in self.heads.items() if h.inputs == "embedding")
        return {name: self.heads[name].probabilities(vectors, texts).tolist() for name in names}


def to_dict(*, version: str, embedder: str, data_hash: str, heads: dict[str, dict]) -> dict:
    """The JSON a classifier file holds (the fit command writes it)."""
    return {"version": version, "embedder": embedder, "data_hash": data_hash, "heads": heads}


# A question is embedded by the guard and, a moment later, by the context check on the same
# text; a small per-process memo keeps that to one encoder call.
_MEMO_SIZE = 256
_memo: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
_memo_lock = threading.Lock()


def _embed_cached(spec: str, texts: list[str]) -> np.ndarray:
    embedder = load_embedder(spec)
    found: dict[int, np.ndarray] = {}
    missing: list[int] = []
    with _memo_lock:
        for i, text in enumerate(texts):
            hit = _memo.get((spec, text))
            if hit is None:
                missing.append(i)
            else:
                found[i] = hit
    if missing:
        fresh = embedder.embed([texts[i] for i in missing])
        with _memo_lock:
            for i, vector in zip(missing, fresh, strict=True):
                found[i] = vector
                if len(texts[i]) <= 2000:
                    _memo[(spec, texts[i])] = vector
                    if len(_memo) > _MEMO_SIZE:
                        _memo.popitem(last=False)
    if not texts:
        return np.zeros((0, embedder.dimension), dtype=np.float32)
    return np.vstack([found[i] for i in range(len(texts))])


_loaded: dict[str, EmbeddingClassifier] = {}
_load_lock = threading.Lock()


def classifier_load(path: str | Path) -> EmbeddingClassifier:
    """The classifier in ``path``, loaded once per process."""
    key = str(path)
    with _load_lock:
        if key not in _loaded:
            _loaded[key] = EmbeddingClassifier.from_file(Path(path))
        return _loaded[key]


def classifier_forget() -> None:
    """Drop loaded classifiers (after a refit, or a settings change in a test)."""
    with _load_lock:
        _loaded.clear()
