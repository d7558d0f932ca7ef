"""The verifier's specification: a registry of small named checks, read top to bottom.

Each check looks at one claim and returns a ``Finding`` or None. Three stages:

- **structure** runs first and stops at the first finding: a claim that cites nothing, or is not a
  claim at all, has no evidence to weigh;
- **support** weighs the evidence with one calibrated score (``scorer.py``), not a set of
  interlocking thresholds;
- **facts** are hard vetoes: a claim that keeps a passage's words but changes a number, a
  condition, a negation or who a rule applies to is unsupported whatever its score
  (../shared/MODELS.md shows the 0.5B model doing exactly that).

Every check is justified by its dev firing rate and precision against the strict judge
(``manage.py verifier_report --split dev``), never by one sentence. Add a check by writing a
function here with ``@check``; its position in this file is its position in the run.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import textkit
from portal.qa.verify.evidence import PassageEvidence, Window, is_question, word_units
from portal.qa.verify.problems import Finding, Problem, finding

STRUCTURE, SUPPORT, FACTS = "structure", "support", "facts"


@dataclass(frozen=True)
class Claim:
    """A sentence to verify, the labels it cites and the passages the run was given."""

    text: str
    labels: tuple[str, ...]
    evidence: dict[str, PassageEvidence]

    @property
    def cited(self) -> list[PassageEvidence]:
        return [self.evidence[label] for label in self.labels if label in self.evidence]


@dataclass(frozen=True)
class Assessment:
    """What the support and fact checks read, computed once per claim (``verifier.assess``)."""

    claim: Claim
    window: Window
    probability: float
    threshold: float
    crosslingual: bool
    similarity: float | None
    min_crosslingual: float
    claim_facts: textkit.Qualifiers
    window_facts: textkit.Qualifiers
    cited_facts: textkit.Qualifiers
    claim_values: frozenset[float]
    cited_values: frozenset[float]
    implied: frozenset[str]


@dataclass(frozen=True)
class Check:
    problem: Problem
    stage: str
    run: Callable[..., Finding | None]
    doc: str


REGISTRY: list[Check] = []


def check(problem: Problem, stage: str):
    def register(fn: Callable[..., Finding | None]) -> Callable[..., Finding | None]:
        REGISTRY.append(Check(problem, stage, fn, (fn.__doc__ or "").strip()))
        return fn

    return register


def checks(stage: str) -> list[Check]:
    return [c for c in REGISTRY if c.stage == stage]


def _fmt(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:g}"


# --- structure ----------------------------------------------------------------------------------

_YES_NO = re.compile(
    r"\s*(?:(?:yes|no|yeah|nope)\b\s*[,.!;:—-]|(?:是的|对|不是|不|没有)\s*[，,。！])", re.I
)
_FIGURE = re.compile(r"[A-Za-z]+|\d+(?:\.\d+)?")


@check(Problem.CITES_NOTHING, STRUCTURE)
def cites_nothing(claim: Claim) -> Finding | None:
    """A claim names the passage it rests on."""
    return None if claim.labels else finding(Problem.CITES_NOTHING)


@check(Problem.CITES_UNKNOWN, STRUCTURE)
def cites_unknown(claim: Claim) -> Finding | None:
    """...and that passage is one the run was given."""
    unknown = [label for label in claim.labels if label not in claim.evidence]
    return finding(Problem.CITES_UNKNOWN, labels=", ".join(unknown)) if unknown else None


@check(Problem.YES_NO_OPENER, STRUCTURE)
def yes_no_opener(claim: Claim) -> Finding | None:
    """ "Yes, your child can ..." answers the question; no passage says "yes" to it."""
    return finding(Problem.YES_NO_OPENER) if _YES_NO.match(claim.text) else None


@check(Problem.NOT_A_CLAIM, STRUCTURE)
def not_a_claim(claim: Claim) -> Finding | None:
    """A question, a heading or a fragment states nothing (dropped without counting against the
    draft). Words and figures count, so a line of vital signs is a claim."""
    text = claim.text.strip()
    if is_question(text):
        return finding(Problem.NOT_A_CLAIM)
    cjk = sum(1 for c in text if textkit.is_cjk_char(c))
    tokens = len(_FIGURE.findall(text))
    enough = cjk + tokens >= 8 if cjk > tokens else tokens >= 4
    return None if enough else finding(Problem.NOT_A_CLAIM)


@check(Problem.TOO_LITTLE, STRUCTURE)
def too_little(claim: Claim) -> Finding | None:
    """An English claim needs a few content words to be checkable ("Yes, I am a Veteran." covers
    its one word and says nothing)."""
    if textkit.is_chinese(claim.text):
        return None
    words = [u for u in word_units(claim.text) if not u.startswith(("c:", "b:"))]
    return None if len(words) >= 3 else finding(Problem.TOO_LITTLE)


# --- support ------------------------------------------------------------------------------------


@check(Problem.LOW_SUPPORT, SUPPORT)
def low_support(a: Assessment) -> Finding | None:
    """The calibrated probability that the cited window supports the claim clears the setting
    VERIFY_SUPPORT_THRESHOLD (chosen on dev; docs/decisions.md)."""
    if a.crosslingual:
        return None
    return (
        finding(Problem.LOW_SUPPORT, p=f"{a.probability:.2f}")
        if a.probability < a.threshold
        else None
    )


@check(Problem.CROSSLINGUAL_LOW, SUPPORT)
def crosslingual_low(a: Assessment) -> Finding | None:
    """Across languages no word can overlap: the multilingual embedding must be close, and the
    fact checks below must all agree."""
    if not a.crosslingual:
        return None
    similarity = a.similarity if a.similarity is not None else 0.0
    if similarity >= a.min_crosslingual:
        return None
    return finding(Problem.CROSSLINGUAL_LOW, similarity=f"{similarity:.2f}")


# --- facts (vetoes) -----------------------------------------------------------------------------


@check(Problem.NUMBER_MISSING, FACTS)
def number_missing(a: Assessment) -> Finding | None:
    """Every number the claim states, by value ("six" = "6", 一万五千 = 15000), is in a passage
    it cites."""
    missing = sorted(a.claim_values - a.cited_values)
    if not missing:
        return None
    return finding(Problem.NUMBER_MISSING, values=", ".join(_fmt(v) for v in missing))


@check(Problem.NEGATION_ADDED, FACTS)
def negation_added(a: Assessment) -> Finding | None:
    """The claim does not negate what its window affirms."""
    negated = a.claim_facts.negated and not a.window_facts.negated
    return finding(Problem.NEGATION_ADDED) if negated else None


@check(Problem.NEGATION_DROPPED, FACTS)
def negation_dropped(a: Assessment) -> Finding | None:
    """...nor affirm what it negates."""
    dropped = a.window_facts.negated and not a.claim_facts.negated
    return finding(Problem.NEGATION_DROPPED) if dropped else None


@check(Problem.CONDITION_REVERSED, FACTS)
def condition_reversed(a: Assessment) -> Finding | None:
    """A bound keeps its side: "under 16" is not "16 or older"."""
    w, c = a.window_facts, a.claim_facts
    flipped = (c.lower_bounds & (w.upper_bounds - w.lower_bounds)) | (
        c.upper_bounds & (w.lower_bounds - w.upper_bounds)
    )
    if not flipped:
        return None
    return finding(Problem.CONDITION_REVERSED, value=", ".join(_fmt(v) for v in sorted(flipped)))


@check(Problem.CONDITION_DROPPED, FACTS)
def condition_dropped(a: Assessment) -> Finding | None:
    """A numeric condition of the window stays in the claim ("at 16 or older")."""
    dropped = (a.window_facts.lower_bounds | a.window_facts.upper_bounds) - a.claim_values
    if not dropped:
        return None
    return finding(Problem.CONDITION_DROPPED, value=", ".join(_fmt(v) for v in sorted(dropped)))


@check(Problem.RESTRICTION_DROPPED, FACTS)
def restriction_dropped(a: Assessment) -> Finding | None:
    """ "Only first hour there was no effect" is not "there was no effect"."""
    dropped = a.window_facts.restricted and not a.claim_facts.restricted
    return finding(Problem.RESTRICTION_DROPPED) if dropped else None


@check(Problem.RESTRICTION_ADDED, FACTS)
def restriction_added(a: Assessment) -> Finding | None:
    """...and "only adults may renew" claims more than "adults may renew": the same rule both
    ways, where the old verifier let an added "only" through."""
    added = a.claim_facts.restricted and not a.window_facts.restricted
    return finding(Problem.RESTRICTION_ADDED) if added else None


@check(Problem.CAUSE_ADDED, FACTS)
def cause_added(a: Assessment) -> Finding | None:
    """A reason is a claim of its own: joining two statements with "because" needs a window
    that gives the reason."""
    added = a.claim_facts.causal and not a.window_facts.causal
    return finding(Problem.CAUSE_ADDED) if added else None


@check(Problem.GENERALISED, FACTS)
def generalised(a: Assessment) -> Finding | None:
    """ "Usually" / 常用 only where the window says so: one case record is not the rule."""
    added = a.claim_facts.general and not a.window_facts.general
    return finding(Problem.GENERALISED) if added else None


@check(Problem.ASKS_AS_FACT, FACTS)
def asks_as_fact(a: Assessment) -> Finding | None:
    """A study's objective ("to study whether ...", 是否) asks; the claim must not answer it."""
    stated = a.window_facts.asks and not a.claim_facts.asks
    return finding(Problem.ASKS_AS_FACT) if stated else None


@check(Problem.HEDGE_DROPPED, FACTS)
def hedge_dropped(a: Assessment) -> Finding | None:
    """ "may be eligible" is not "is eligible"; 可能为丹毒 is not 为丹毒."""
    dropped = a.window_facts.hedged and not a.claim_facts.hedged
    return finding(Problem.HEDGE_DROPPED) if dropped else None


@check(Problem.GROUP_ADDED, FACTS)
def group_added(a: Assessment) -> Finding | None:
    """The claim names no group of people its cited passages (or their document) do not name."""
    added = sorted(a.claim_facts.subjects - a.cited_facts.subjects - a.implied)
    return finding(Problem.GROUP_ADDED, groups=", ".join(added)) if added else None


@check(Problem.GROUP_DROPPED, FACTS)
def group_dropped(a: Assessment) -> Finding | None:
    """A rule for a group stays a rule for that group ("children under 16 apply in person")."""
    window = a.window_facts.subjects
    if not window or window & a.claim_facts.subjects:
        return None
    return finding(Problem.GROUP_DROPPED, groups=", ".join(sorted(window)))
