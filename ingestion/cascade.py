"""A second opinion over the local LLM's hidden states, for a learned head that is at its limit.

Two learned detectors use it: the guard's harm head (portal/safety/hidden.py) and ingestion's
planted-instruction detector (ingestion/screening.py). Both first score a text with the cheap
head (sentence embedding + n-grams, ingestion/classify.py). Only texts scoring at or above the
head file's ``floor`` for their language are encoded by the LLM (a forward pass: ~0.15 s on two
CPU cores for a 0.5B model), and for those the decision is the mean of the two heads' logits
against the cascade's own threshold, either way. Below the floor the first head's "no" stands,
which is what keeps the cost of ordinary text where it was.

This module is the head and the arithmetic (no Django, no model): the encoder is
llm_backend/hidden.py, the fit portal/evaluation/hidden_fit.py. A head file names the model's
SHA-256; features of another model mean nothing to it, so callers switch the cascade off when the
configured model is another one.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np


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
    floors: dict[str, float]  # first-head score from which the cascade runs
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


@cache
def head_load(path: str) -> HiddenHead | None:
    """The head file at ``path``, or None when there is none (the cascade is then off)."""
    file = Path(path)
    if not file.is_file():
        return None
    return HiddenHead.from_dict(json.loads(file.read_text(encoding="utf-8")))


def logit(p: float) -> float:
    p = min(max(float(p), 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def combined(first: float, hidden: float) -> float:
    """The cascade's score: the mean of the two heads' logits, as a probability (the fit chose
    its thresholds on this same number)."""
    return 1.0 / (1.0 + math.exp(-(logit(first) + logit(hidden)) / 2))
