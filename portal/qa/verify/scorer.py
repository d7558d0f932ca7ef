"""One calibrated support score in place of interlocking thresholds.

``SupportFeatures`` describe how a claim sits against the passage window it aligns with: how much
of it the window and the cited passages state, how close it is in meaning, how many words it adds.
A ``SupportScorer`` turns them into the probability that the independent strict judge would find
the claim supported. The shipped scorer is a logistic regression fitted on dev drafts
(``manage.py verifier_fit``); an entailment model can replace it behind the same protocol.

Two weight sets ship in one file: with the embedding similarity, and without it (a process that
verifies on words alone, e.g. with the embedder switched off), each fitted on the same rows.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Protocol

import numpy as np

SCORER_FILE = Path(__file__).resolve().parent / "data" / "support_scorer.json"


@dataclass(frozen=True)
class SupportFeatures:
    window_coverage: float  # share of the claim's content units stated by its best window
    passage_coverage: float  # ...by the cited passages as a whole
    semantic: float | None  # embedding similarity with the window; None without an embedder
    novel_share: float  # share of its content words no statement of the cited passages holds
    novel_count: float  # how many such words, capped at 5, over 5
    length: float  # log-scaled number of content units (short claims are easier to cover)
    verbatim: float  # 1.0 when the claim is a passage's words in order (a quote)

    LEXICAL = (
        "window_coverage",
        "passage_coverage",
        "novel_share",
        "novel_count",
        "length",
        "verbatim",
    )
    FULL = (*LEXICAL, "semantic")

    def vector(self, names: tuple[str, ...]) -> np.ndarray:
        values = asdict(self)
        return np.array([float(values[n] or 0.0) for n in names], dtype=np.float64)


class SupportScorer(Protocol):
    version: str

    def probability(self, features: SupportFeatures) -> float: ...


@dataclass(frozen=True)
class LogisticModel:
    names: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float

    def probability(self, x: np.ndarray) -> float:
        z = float(np.dot(self.weights, x) + self.bias)
        return 1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, z))))


@dataclass(frozen=True)
class LogisticScorer:
    version: str
    full: LogisticModel
    lexical: LogisticModel

    def probability(self, features: SupportFeatures) -> float:
        model = self.lexical if features.semantic is None else self.full
        return model.probability(features.vector(model.names))

    @classmethod
    def from_file(cls, path: Path) -> LogisticScorer:
        data = json.loads(path.read_text(encoding="utf-8"))

        def model(part: dict) -> LogisticModel:
            return LogisticModel(tuple(part["features"]), tuple(part["weights"]), part["bias"])

        return cls(data["version"], model(data["full"]), model(data["lexical"]))


@cache
def scorer_load(path: str = "") -> SupportScorer:
    """The scorer in ``path`` (default: the one shipped beside this module), loaded once."""
    return LogisticScorer.from_file(Path(path) if path else SCORER_FILE)


def logistic_fit(
    x: np.ndarray,
    y: np.ndarray,
    *,
    l2: float = 1.0,
    iterations: int = 50,
    sample_weight: np.ndarray | None = None,
) -> tuple[np.ndarray, float]:
    """L2-regularised logistic regression by Newton's method (a few hundred rows, a few
    features: no library needed). ``sample_weight`` lets a small data set count as much as a
    large one. Returns weights and bias."""
    n, d = x.shape
    w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    design = np.hstack([x, np.ones((n, 1))])
    theta = np.zeros(d + 1)
    penalty = np.eye(d + 1) * l2
    penalty[-1, -1] = 0.0  # the bias is not shrunk
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(design @ theta, -40, 40)))
        gradient = design.T @ (w * (p - y)) + penalty @ theta
        hessian = design.T @ (design * (w * p * (1 - p))[:, None]) + penalty
        step = np.linalg.solve(hessian, gradient)
        theta -= step
        if np.max(np.abs(step)) < 1e-8:
            break
    return theta[:-1], float(theta[-1])


def fold_of(key: str, folds: int) -> int:
    """A stable fold for ``key`` (a question, a prompt): rows that share a key share a fold."""
    return int(hashlib.sha256(key.encode("utf-8")).hexdigest(), 16) % folds


def oof_probabilities(
    x: np.ndarray,
    y: np.ndarray,
    keys: list[str],
    *,
    folds: int = 5,
    l2: float = 1.0,
    sample_weight: np.ndarray | None = None,
) -> np.ndarray:
    """Out-of-fold probabilities: each row scored by a model fitted without its fold, the honest
    dev estimate that thresholds are chosen on."""
    fold = np.array([fold_of(k, folds) for k in keys])
    weight = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, float)
    out = np.zeros(len(y))
    for k in range(folds):
        train, held = fold != k, fold == k
        if not held.any() or len(set(y[train].tolist())) < 2:
            continue
        w, b = logistic_fit(x[train], y[train], l2=l2, sample_weight=weight[train])
        out[held] = 1.0 / (1.0 + np.exp(-np.clip(x[held] @ w + b, -40, 40)))
    return out
