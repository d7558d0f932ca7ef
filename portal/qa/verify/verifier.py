"""Run the checks over one claim: structure, then alignment and the support score, then facts.

``claim_verify`` is the only entry point the engine, drafting and review use. It aligns the claim
with the window of a cited passage that covers it best, computes ``SupportFeatures``, asks the
scorer for the probability of support, and runs the registry (``checks.py``). With ``recite`` a
claim that fails against what it cites is tried against each other passage it was given: a small
model writes a sentence of one passage and cites another. There it must be fully stated (no word
the passage lacks), since the model's own citation already failed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

import textkit
from portal.qa.verify.checks import (
    FACTS,
    STRUCTURE,
    SUPPORT,
    Assessment,
    Claim,
    checks,
)
from portal.qa.verify.evidence import (
    PassageEvidence,
    Window,
    without_document_groups,
    word_units,
)
from portal.qa.verify.problems import Finding, Problem
from portal.qa.verify.scorer import SupportFeatures, SupportScorer, scorer_load

Embed = Callable[[list[str]], np.ndarray]  # texts -> L2-normalised rows


@dataclass(frozen=True)
class VerifierConfig:
    """How strict the verifier is. ``portal.qa.conf.verifier_config()`` builds it from settings;
    tests build it directly, the same way."""

    threshold: float = 0.67  # VERIFY_SUPPORT_THRESHOLD: calibrated probability a claim needs
    min_crosslingual: float = 0.6  # VERIFY_MIN_CROSSLINGUAL: embedding similarity across languages
    crosslingual: bool = False  # VERIFY_CROSSLINGUAL: verify claims in another language at all
    recite: bool = True  # VERIFY_RECITE: try the other passages when the cited one fails
    scorer_path: str = ""  # VERIFY_SCORER_PATH: "" = the scorer shipped with the code


@dataclass(frozen=True)
class Verdict:
    text: str
    labels: tuple[str, ...]
    supported: bool
    findings: tuple[Finding, ...] = ()
    probability: float = 0.0
    features: SupportFeatures | None = None
    aligned_label: str | None = None
    aligned_span: str = ""
    # Not a claim at all (a heading, a bare question): dropped without counting against the draft.
    trivial: bool = False
    # What the model cited, when another passage supports the sentence instead (``recite``).
    drafted_labels: tuple[str, ...] = ()

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(f.code for f in self.findings)

    @property
    def problems(self) -> tuple[str, ...]:
        """The findings as English text, for pages and logs (codes are what code matches on)."""
        return tuple(f.message() for f in self.findings)

    def with_finding(self, found: Finding) -> Verdict:
        return replace(self, supported=False, findings=(*self.findings, found))

    def as_dict(self) -> dict:
        return {
            "text": self.text,
            "labels": list(self.labels),
            "supported": self.supported,
            "probability": round(self.probability, 3),
            "aligned_label": self.aligned_label,
            "findings": [f.as_dict() for f in self.findings],
            "problems": [f.message() for f in self.findings],
            **({"trivial": True} if self.trivial else {}),
            **({"drafted_labels": list(self.drafted_labels)} if self.drafted_labels else {}),
        }


def _words(units: set[str]) -> set[str]:
    return {u for u in units if not u.startswith(("c:", "b:")) and not u[:1].isdigit()}


def coverage(units: set[str], evidence: frozenset[str] | set[str]) -> float:
    # Single Chinese characters count half: bigrams and words carry the meaning.
    total = hit = 0.0
    for unit in units:
        weight = 0.5 if unit.startswith("c:") else 1.0
        total += weight
        hit += weight if unit in evidence else 0.0
    return hit / total if total else 0.0


# A copied claim shorter than this ("Yes", 可以) is found in too many sentences to align by.
VERBATIM_MIN_CHARS = 8


def _squash(text: str) -> str:
    return " ".join(text.lower().split()).rstrip(".。!！;； ")


def features_of(
    claim: Claim, window: Window, units: set[str], similarity: float | None
) -> SupportFeatures:
    stated = frozenset().union(*(ev.stated for ev in claim.cited))
    words = _words(units)
    novel = words - stated
    passages = " ".join(_squash(ev.text) for ev in claim.cited)
    return SupportFeatures(
        window_coverage=coverage(units, window.units),
        passage_coverage=coverage(units, stated),
        semantic=similarity,
        novel_share=len(novel) / len(words) if words else 0.0,
        novel_count=min(len(novel), 5) / 5,
        length=min(1.0, math.log1p(len(units)) / math.log(50)),
        verbatim=1.0 if _squash(claim.text) and _squash(claim.text) in passages else 0.0,
    )


def _align(claim: Claim, units: set[str]) -> Window:
    # A claim copied word for word aligns with the sentence it was copied from. Coverage alone
    # can tie between sibling clauses that differ only in words it does not count (年满 / 未满
    # 十六周岁 in one article), and the first of them would then be checked for the facts.
    copied = _squash(claim.text)
    if len(copied) >= VERBATIM_MIN_CHARS:
        for evidence in claim.cited:
            for window in evidence.windows():
                if copied in _squash(window.text):  # single sentences come first
                    return window
    best: tuple[float, Window | None] = (-1.0, None)
    for evidence in claim.cited:
        single = len(evidence.sentences[0]) if evidence.sentences else 0
        for window in evidence.windows():
            score = coverage(units, window.units)
            # A two-sentence window must earn its place: the single sentence wins near-ties.
            if score > best[0] + (0.1 if len(window.text) > single else 0.0):
                best = (score, window)
    if best[1] is None:  # a passage of questions only: align with its text as a whole
        evidence = claim.cited[0]
        return Window(evidence.label, evidence.text, evidence.stated)
    return best[1]


def _align_crosslingual(claim: Claim, embed: Embed) -> tuple[Window, float]:
    windows = [w for ev in claim.cited for w in ev.windows()] or [
        Window(ev.label, ev.text, ev.stated) for ev in claim.cited
    ]
    vectors = embed([claim.text] + [w.text for w in windows])
    similarities = vectors[1:] @ vectors[0]
    best = int(np.argmax(similarities))
    return windows[best], float(np.clip(similarities[best], 0.0, 1.0))


def claim_features(
    claim: Claim, *, config: VerifierConfig, embed: Embed | None
) -> tuple[Window, SupportFeatures | None, float | None, bool]:
    """Align ``claim`` and describe its support: (window, features, similarity, crosslingual).
    Features are None across languages, where word coverage means nothing."""
    implied = frozenset().union(*(ev.implied for ev in claim.cited))
    units = set(word_units(without_document_groups(claim.text, implied)))
    claim_language = textkit.language_of(claim.text)
    if any(ev.language != claim_language for ev in claim.cited):
        if embed is None or not config.crosslingual:
            return _align(claim, units), None, None, True
        window, similarity = _align_crosslingual(claim, embed)
        return window, None, similarity, True
    window = _align(claim, units)
    similarity = None
    if embed is not None:
        vectors = embed([claim.text, window.text])
        similarity = float(np.clip(vectors[0] @ vectors[1], 0.0, 1.0))
    return window, features_of(claim, window, units, similarity), similarity, False


def assess(
    claim: Claim,
    *,
    config: VerifierConfig,
    scorer: SupportScorer,
    embed: Embed | None,
) -> tuple[Assessment, SupportFeatures | None]:
    implied = frozenset().union(*(ev.implied for ev in claim.cited))
    text = without_document_groups(claim.text, implied)
    window, features, similarity, crosslingual = claim_features(claim, config=config, embed=embed)
    probability = scorer.probability(features) if features is not None else 0.0
    cited_text = " ".join(ev.text for ev in claim.cited)
    assessment = Assessment(
        claim=claim,
        window=window,
        probability=probability,
        threshold=config.threshold,
        crosslingual=crosslingual,
        similarity=similarity,
        min_crosslingual=config.min_crosslingual if config.crosslingual else 2.0,
        claim_facts=textkit.qualifiers_of(text),
        window_facts=textkit.qualifiers_of(window.text),
        cited_facts=textkit.qualifiers_of(cited_text),
        claim_values=frozenset(textkit.values(text)),
        cited_values=frozenset(textkit.values(cited_text)),
        implied=implied,
    )
    return assessment, features


def _verify_against(
    claim: Claim, *, config: VerifierConfig, scorer: SupportScorer, embed: Embed | None
) -> Verdict:
    for structural in checks(STRUCTURE):
        found = structural.run(claim)
        if found is not None:
            return Verdict(
                claim.text,
                claim.labels,
                False,
                (found,),
                trivial=found.problem is Problem.NOT_A_CLAIM,
            )
    assessment, features = assess(claim, config=config, scorer=scorer, embed=embed)
    findings = [
        f for c in (*checks(SUPPORT), *checks(FACTS)) if (f := c.run(assessment)) is not None
    ]
    probability = (
        assessment.similarity or 0.0 if assessment.crosslingual else assessment.probability
    )
    return Verdict(
        text=claim.text,
        labels=claim.labels,
        supported=not findings,
        findings=tuple(findings),
        probability=probability,
        features=features,
        aligned_label=assessment.window.label,
        aligned_span=assessment.window.text,
    )


def claim_verify(
    text: str,
    labels: tuple[str, ...] | list[str],
    evidence: dict[str, PassageEvidence],
    *,
    config: VerifierConfig,
    embed: Embed | None = None,
    scorer: SupportScorer | None = None,
) -> Verdict:
    """The verdict on one claim against the passages it cites (see the module docstring)."""
    scorer = scorer or scorer_load(config.scorer_path)
    claim = Claim(text, tuple(labels), evidence)
    verdict = _verify_against(claim, config=config, scorer=scorer, embed=embed)
    if verdict.supported or verdict.trivial or not config.recite:
        return verdict
    if any(f.problem in (Problem.CITES_NOTHING, Problem.YES_NO_OPENER) for f in verdict.findings):
        return verdict
    best: Verdict | None = None
    for label in evidence:
        if label in claim.labels:
            continue
        other = _verify_against(
            Claim(text, (label,), evidence), config=config, scorer=scorer, embed=embed
        )
        fully_stated = other.features is not None and other.features.novel_count == 0
        if (
            other.supported
            and fully_stated
            and (best is None or other.probability > best.probability)
        ):
            best = other
    return verdict if best is None else replace(best, drafted_labels=claim.labels)
