"""How well does a passage sentence answer the question? A small learned scorer.

The verifier says whether a sentence is *supported*; this says whether it *answers*. It ranks
passage sentences for the quoting fallback and for trimming passages in the prompt, so the
sentence that states what was asked leads, rather than the one sharing the most words.

``AnswerFeatures`` are cheap (no embedding per sentence): how much of the question's content and
of its rare-term (IDF) weight the sentence holds, how much of the sentence is the question's own
words, whether the question asks for a figure and the sentence gives one, whether it asks for a
kind of answer (a duration, an amount, an age, a date, a place, a count, a permission, steps:
``data/answer_types.tsv``) and the sentence holds one, length, whether the line is a heading,
and whether the line before it is a heading or question that covers the question (pages answer
"Will I get a refund?" right under that heading). A logistic model fitted on dev gold spans
(doc2dial, PolicyQA and the demo questions: a sentence answers when it lies inside a gold span;
``manage.py answering_fit``) turns them into a probability. Without a fitted model file the
scorer falls back to the question coverage the quoting used before, so nothing breaks.
(Position in the passage was tried and dropped: in the training windows it describes the window,
not the passage.)
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
TYPES_FILE = Path(__file__).resolve().parent / "data" / "answer_types.tsv"

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
    type_match: float = 0.0  # the question asks for a kind of answer the sentence holds
    type_missing: float = 0.0  # ...it asks for one (or more) and the sentence holds none
    after_heading: float = 0.0  # question coverage of the line before, if a heading or question

    NAMES = (
        "question_coverage",
        "weighted_coverage",
        "own_share",
        "figure_match",
        "figure_missing",
        "length",
        "heading",
        "type_match",
        "type_missing",
        "after_heading",
    )

    def vector(self) -> np.ndarray:
        values = asdict(self)
        return np.array([float(values[n]) for n in self.NAMES], dtype=np.float64)


def _own_share(question: str, sentence: str) -> float:
    # Numbers count here: "You need 40 credits" adds the figure asked for, though every word of
    # it is the question's.
    units = textkit.content_units(sentence)
    return len(units & textkit.content_units(question)) / len(units) if units else 1.0


@cache
def answer_types() -> tuple[tuple[str, re.Pattern[str], re.Pattern[str]], ...]:
    rows = []
    for line in TYPES_FILE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, asked, given = line.split("\t")
            rows.append((name, re.compile(asked, re.I), re.compile(given, re.I)))
    return tuple(rows)


def _types(question: str, sentence: str) -> tuple[float, float]:
    asked = [given for _, pattern, given in answer_types() if pattern.search(question)]
    if not asked:
        return 0.0, 0.0
    held = any(given.search(sentence) for given in asked)
    return float(held), float(not held)


def _after_heading(asked: set[str], previous: str) -> float:
    line = previous.strip()
    if not line or not (is_heading(line) or line.endswith(("?", "？"))):
        return 0.0
    units = set(word_units(line))
    return coverage(asked, units) if units else 0.0


def answer_features(
    question: str, sentence: str, *, weigh: Weigh | None = None, previous: str = ""
) -> AnswerFeatures:
    """``previous``: the passage line before ``sentence`` ("" when unknown or at the start)."""
    asked = set(word_units(question))
    units = set(word_units(sentence))
    asks_figure = bool(_ASKS_FIGURE.search(question))
    has_figure = bool(textkit.values(sentence))
    type_match, type_missing = _types(question, sentence)
    return AnswerFeatures(
        question_coverage=coverage(asked, units),
        weighted_coverage=weigh(sentence) if weigh else coverage(asked, units),
        own_share=_own_share(question, sentence),
        figure_match=float(asks_figure and has_figure),
        figure_missing=float(asks_figure and not has_figure),
        length=min(1.0, math.log1p(len(units)) / math.log(40)),
        heading=float(is_heading(sentence)),
        type_match=type_match,
        type_missing=type_missing,
        after_heading=_after_heading(asked, previous),
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


def answer_probability(
    question: str, sentence: str, *, weigh: Weigh | None = None, previous: str = ""
) -> float:
    """How likely ``sentence`` states what ``question`` asks (the fitted model's probability)."""
    features = answer_features(question, sentence, weigh=weigh, previous=previous)
    return answering_load().probability(features)


def sentences_ranked(
    question: str,
    sentences: list[str],
    *,
    weigh: Weigh | None = None,
    model=None,
    previous: list[str] | None = None,
) -> list[tuple[float, int]]:
    """(probability of answering, index) for each sentence, best first. ``previous``: the line
    before each sentence in its passage; by default the list is read as consecutive lines."""
    model = model or answering_load()
    before = previous if previous is not None else ["", *sentences[:-1]]
    scored = [
        (model.probability(answer_features(question, s, weigh=weigh, previous=p)), i)
        for i, (s, p) in enumerate(zip(sentences, before, strict=True))
    ]
    return sorted(scored, key=lambda pair: (-pair[0], pair[1]))
