"""How well does a passage sentence answer the question? A small learned scorer.

The verifier says whether a sentence is *supported*; this says whether it *answers*. It ranks
passage sentences for the quoting fallback and for trimming passages in the prompt, so the
sentence that states what was asked leads, rather than the one sharing the most words.

``AnswerFeatures`` are cheap (no embedding per sentence): how much of the question's content and
of its rare-term (IDF) weight the sentence holds, how much of the sentence is the question's own
words, whether the question asks for a figure and the sentence gives one, length, and
whether the line is a heading. A logistic model fitted on dev gold spans (doc2dial, PolicyQA and
the demo questions: a sentence answers when it lies inside a gold span; ``manage.py
answering_fit``) turns them into a probability. Without a fitted model file the scorer falls
back to the question coverage the quoting used before, so nothing breaks. (Position in the
passage was tried and dropped: in the training windows it describes the window, not the passage.)
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

import numpy as np

import textkit
from llm_backend.text import is_heading
from portal.qa.verify.evidence import word_units
from portal.qa.verify.verifier import coverage

MODEL_FILE = Path(__file__).resolve().parent / "data" / "answering_model.json"

# Questions that ask for a figure: an answer without one rarely answers them.
_ASKS_FIGURE = re.compile(
    r"\b(how (much|many|long|old|soon|often|far)|what (age|percent|amount|fee|cost)|when|"
    r"which (year|date|month))\b|多少|几|多久|多长|多大|何时|什么时候|哪一?年",
    re.I,
)

Weigh = Callable[[str], float]  # text -> share of the question's IDF weight it holds


@dataclass(frozen=True)
class AnswerFeatures:
    question_coverage: float  # share of the question's content units in the sentence
    weighted_coverage: float  # share of the question's IDF weight in the sentence
    own_share: float  # share of the sentence's units (numbers included) that are the question's
    figure_match: float  # the question asks for a figure and the sentence states one
    figure_missing: float  # ...and the sentence states none
    length: float  # log-scaled number of content units
    heading: float  # 1 for a heading or title line

    NAMES = (
        "question_coverage",
        "weighted_coverage",
        "own_share",
        "figure_match",
        "figure_missing",
        "length",
        "heading",
    )

    def vector(self) -> np.ndarray:
        values = asdict(self)
        return np.array([float(values[n]) for n in self.NAMES], dtype=np.float64)


def _own_share(question: str, sentence: str) -> float:
    # Numbers count here: "You need 40 credits" adds the figure asked for, though every word of
    # it is the question's.
    units = textkit.content_units(sentence)
    return len(units & textkit.content_units(question)) / len(units) if units else 1.0


def answer_features(question: str, sentence: str, *, weigh: Weigh | None = None) -> AnswerFeatures:
    asked = set(word_units(question))
    units = set(word_units(sentence))
    asks_figure = bool(_ASKS_FIGURE.search(question))
    has_figure = bool(textkit.values(sentence))
    return AnswerFeatures(
        question_coverage=coverage(asked, units),
        weighted_coverage=weigh(sentence) if weigh else coverage(asked, units),
        own_share=_own_share(question, sentence),
        figure_match=float(asks_figure and has_figure),
        figure_missing=float(asks_figure and not has_figure),
        length=min(1.0, math.log1p(len(units)) / math.log(40)),
        heading=float(is_heading(sentence)),
    )


@dataclass(frozen=True)
class AnsweringModel:
    version: str
    names: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float

    def probability(self, features: AnswerFeatures) -> float:
        values = asdict(features)
        z = sum(w * float(values[n]) for n, w in zip(self.names, self.weights, strict=True))
        z += self.bias
        return 1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, z))))


class CoverageOnly:
    """What quoting ranked by before a model was fitted: question coverage alone."""

    version = "coverage"

    def probability(self, features: AnswerFeatures) -> float:
        return features.question_coverage


@cache
def answering_load(path: str = "") -> AnsweringModel | CoverageOnly:
    file = Path(path) if path else MODEL_FILE
    if not file.exists():
        return CoverageOnly()
    data = json.loads(file.read_text(encoding="utf-8"))
    return AnsweringModel(
        data["version"], tuple(data["features"]), tuple(data["weights"]), data["bias"]
    )


def answer_probability(question: str, sentence: str, *, weigh: Weigh | None = None) -> float:
    """How likely ``sentence`` states what ``question`` asks (the fitted model's probability)."""
    return answering_load().probability(answer_features(question, sentence, weigh=weigh))


def sentences_ranked(
    question: str, sentences: list[str], *, weigh: Weigh | None = None, model=None
) -> list[tuple[float, int]]:
    """(probability of answering, index) for each sentence, best first."""
    model = model or answering_load()
    scored = [
        (model.probability(answer_features(question, s, weigh=weigh)), i)
        for i, s in enumerate(sentences)
    ]
    return sorted(scored, key=lambda pair: (-pair[0], pair[1]))
