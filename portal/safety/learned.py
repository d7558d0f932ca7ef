"""The learned layer of the guard: harm and medication-risk heads over the question's embedding.

The rules (rules.py) stay the fast first layer: they name the category and explain themselves.
Rules only know the phrasings someone wrote down, so every question is also scored by logistic
heads trained on a few thousand dev prompts from public benchmarks and our own written sets, in
both languages (portal/evaluation/safety_fit.py; the file records its version, training-data
hash and the dev figures behind each threshold):

- ``harm`` >= its language's threshold refuses the question as unsafe;
- ``harm`` >= the lower *context floor* marks it for the context check: once retrieval has run,
  each passage found is scored by the ``hazard`` head (would it help a harmful request: lethal
  amounts, synthesis routes, ways to avoid detection?) and the ``context`` head combines the
  two; the question is refused when a pair crosses its threshold (a request that reads mild
  alone but whose passages would help it);
- ``medication`` (a question about changing someone's medicines) cautions the answer, and
  ``medication_hold`` on top of it holds the answer for a reviewer;
- ``self_harm`` (the subject is self-harm or suicide): a learned refusal of such a request
  carries the crisis reason, so the reader sees the crisis lines first.

Thresholds come from the classifier file; the SAFETY_*_THRESHOLD settings override them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.conf import settings

from ingestion.classify import EmbeddingClassifier, classifier_load
from portal.safety import hidden
from portal.safety.reader import reader_threshold
from portal.safety.reader import reads as harm_reader_for
from portal.safety.results import Reason

SAFETY_CLASSIFIER_FILE = Path(__file__).resolve().parent / "data" / "safety_classifier.json"
# How much of each passage joins the question in the context check: the sentences a reader
# would be helped by sit near the top of a chunk far more often than at its end.
CONTEXT_CHARS = 400


def safety_classifier() -> EmbeddingClassifier | None:
    """The configured classifier, or None when SAFETY_CLASSIFIER is off."""
    if not settings.SAFETY_CLASSIFIER:
        return None
    return classifier_load(settings.SAFETY_CLASSIFIER_PATH or SAFETY_CLASSIFIER_FILE)


def _threshold(classifier: EmbeddingClassifier, head: str, language: str) -> float:
    override = {
        "harm": settings.SAFETY_HARM_THRESHOLD,
        "medication": settings.SAFETY_MEDICATION_THRESHOLD,
        "medication_hold": settings.SAFETY_MEDICATION_HOLD_THRESHOLD,
    }.get(head)
    if override is not None:
        return override
    return classifier.heads[head].threshold(language)


def _crisis_limit(classifier: EmbeddingClassifier, language: str, refused: bool) -> float:
    """The self-harm score from which the crisis lines come first. A refusal leads with them
    from the head's own threshold (2% of the written near misses); an answered question needs
    SAFETY_CRISIS_THRESHOLD, where the head rarely fires on everyday questions, since there the
    lines stand before an answer to something else. Off: refusals only."""
    head = classifier.heads["self_harm"].threshold(language)
    if refused:
        return head
    if not settings.SAFETY_CRISIS_LEARNED:
        return float("inf")
    return max(head, settings.SAFETY_CRISIS_THRESHOLD)


def _context_floor(classifier: EmbeddingClassifier, language: str) -> float:
    if settings.SAFETY_CONTEXT_FLOOR is not None:
        return settings.SAFETY_CONTEXT_FLOOR
    floors = classifier.heads["harm"].dev.get("context_floor", {})
    return float(floors.get(language, floors.get("*", 1.0)))


@dataclass(frozen=True)
class Verdict:
    """What the learned heads say about one question."""

    harm: float
    medication: float
    medication_hold: float
    reasons: tuple[tuple[Reason, str], ...]  # (reason, the action it asks for)
    context_check: bool  # harm >= the context floor: score again with the passages
    version: str = ""
    hidden: float | None = None  # the cascade's hidden-state head, where it ran (hidden.py)
    reader: float | None = None  # the English harm reader, where it ran (reader.py)

    def summary(self) -> dict:
        """Scores only (no text): safe for the audit trail."""
        return {
            "version": self.version,
            "harm": round(self.harm, 4),
            "hidden": None if self.hidden is None else round(self.hidden, 4),
            "reader": None if self.reader is None else round(self.reader, 4),
            "medication": round(self.medication, 4),
            "medication_hold": round(self.medication_hold, 4),
            "context_check": self.context_check,
        }


def question_verdict(text: str, language: str) -> Verdict | None:
    classifier = safety_classifier()
    if classifier is None:
        return None
    names = ("harm", "medication", "medication_hold", "self_harm")
    scores = classifier.scores([text], heads=tuple(n for n in names if n in classifier.heads))
    harm = scores["harm"][0]
    medication = scores["medication"][0]
    hold = scores["medication_hold"][0]
    reasons: list[tuple[Reason, str]] = []
    version = classifier.version
    harm_limit = _threshold(classifier, "harm", language)
    refuse, detail = harm >= harm_limit, f"harm classifier {harm:.2f} >= {harm_limit:.2f}"
    hidden_harm = None
    # A set SAFETY_HARM_THRESHOLD is an operator's decision for the first head: it decides alone.
    cascade = hidden.hidden_head() if settings.SAFETY_HARM_THRESHOLD is None else None
    if cascade is not None and harm >= cascade.floor(language):
        # Above the floor the cascade decides, either way (hidden.py): the second head can pass
        # a near miss the first would refuse, and refuse one it would pass.
        hidden_harm = hidden.hidden_score(text)
        if hidden_harm is not None:
            score, limit = hidden.combined(harm, hidden_harm), cascade.threshold(language)
            refuse = score >= limit
            detail = (
                f"harm cascade {score:.2f} >= {limit:.2f} (classifier {harm:.2f}, hidden states "
                f"{hidden_harm:.2f}, {cascade.version})"
            )
    reader_harm = None
    # The English reader can only add a refusal (reader.py); an operator's fixed harm threshold
    # decides alone, as for the cascade.
    reader = None if refuse or settings.SAFETY_HARM_THRESHOLD is not None else (
        harm_reader_for(harm, language)
    )  # fmt: skip
    if reader is not None:
        reader_harm = float(reader.scores([text])[0])
        limit = reader_threshold(reader)
        if reader_harm >= limit:
            refuse = True
            detail = (
                f"harm reader {reader_harm:.2f} >= {limit:.2f} (classifier {harm:.2f}, "
                f"{reader.version})"
            )
    self_harm = scores["self_harm"][0] if "self_harm" in scores else 0.0
    if "self_harm" in scores and self_harm >= _crisis_limit(classifier, language, refuse):
        # Same reason the crisis rules give: the reader sees the crisis lines before anything
        # else, whether the question is then refused or answered.
        crisis = f"self-harm is the subject ({self_harm:.2f}): crisis lines first"
        reasons.append((Reason("emergency", "self_harm.crisis", crisis, self_harm), "caution"))
    if refuse:
        reasons.append((Reason("unsafe", "learned.harm", f"{detail} ({version})", harm), "refuse"))
    limit = _threshold(classifier, "medication", language)
    if settings.SAFETY_MEDICATION_ROUTING and medication >= limit:
        hold_limit = _threshold(classifier, "medication_hold", language)
        if hold >= hold_limit:
            detail = (
                f"changes to one person's medicines ({medication:.2f}, hold {hold:.2f} >= "
                f"{hold_limit:.2f}): a reviewer checks the answer first"
            )
            reasons.append((Reason("medical_risk", "medication.personal", detail, hold), "hold"))
        else:
            detail = f"a medicine dosing or interaction question ({medication:.2f} >= {limit:.2f})"
            reasons.append(
                (Reason("medical_caution", "medication.general", detail, medication), "caution")
            )
    floor = _context_floor(classifier, language)
    return Verdict(
        harm, medication, hold, tuple(reasons), not refuse and floor <= harm,
        classifier.version, hidden_harm, reader_harm,
    )  # fmt: skip


def context_features(question_harm: float, passage_hazard: float) -> list[float]:
    """What the ``context`` combiner reads for one (question, passage) pair: the question's harm
    and the passage's hazard as logits, and their product (both high is what it looks for)."""
    a, b = hidden.logit(question_harm), hidden.logit(passage_hazard)
    return [a, b, a * b / 10.0]


def context_reason(question: str, language: str, passages: list[str]) -> Reason | None:
    """Harm in context: the question's harm score combined with each retrieved passage's hazard
    score (the opening ``CONTEXT_CHARS`` of it: would it help a harmful request?) by the
    ``context`` head; a refusal reason when any pair crosses its threshold."""
    classifier = safety_classifier()
    if classifier is None or not passages or not settings.SAFETY_CONTEXT_CHECK:
        return None
    harm = classifier.scores([question], heads=("harm",))["harm"][0]
    openings = [p[:CONTEXT_CHARS] for p in passages]
    hazards = classifier.scores(openings, heads=("hazard",))["hazard"]
    head = classifier.heads["context"]
    vectors = np.array([context_features(harm, h) for h in hazards])
    scores = head.probabilities(vectors, [question] * len(passages))
    best = float(scores.max())
    limit = head.threshold(language)
    if best < limit:
        return None
    return Reason(
        "unsafe",
        "learned.harm_in_context",
        f"read with the passages retrieval found, the request scores {best:.2f} >= {limit:.2f} "
        f"(question {harm:.2f}, passage hazard {max(hazards):.2f}; {classifier.version})",
        best,
    )
