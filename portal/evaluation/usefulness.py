"""Does a published answer state what the asker needs? Graded without the verifier's code.

Definitions (docs/evaluation.md repeats them; every constant is named here):

- **states the gold answer** (``states_gold``):
  - a set with gold spans (doc2dial, PolicyQA, folder sets with ``gold_spans``): at least
    ``SPAN_MIN_SHARE`` of some gold span's content units occur in the published text;
  - PubMedQA: the yes/no/maybe read from the published answer equals the gold label;
  - a set with a free-text reference (STARD's lawyers' answers, CMB-Clin's expert answers, a
    folder set's ``answer``): at least ``REFERENCE_MIN_SHARE`` of the reference's content units,
    or ``REFERENCE_MIN_UNITS`` of them for a long reference, occur in the published text (a long
    expert answer covers more than a three-sentence answer can).
- **useful** (``useful_answer_rate``): an answerable question that is answered, whose published
  sentences all pass the strict judge, and whose answer states the gold answer.
- **off target** (``off_target_rate``): a published sentence that shares fewer than
  ``ON_TARGET_MIN_UNITS`` content units with the gold answer (span, reference or PubMedQA
  conclusion) beyond the question's own words, a number counting twice (the figure is usually
  what was asked): a true sentence about something else ("credits for one and one-half year's
  work" to "how many credits do I need to retire", whose answer is 40 credits).
- **wrong** (``wrong_answer_rate``): an answerable question that is answered, but whose answer
  does not state the gold answer (missing or contradicted).

Content units are lower-cased words without stop words and Chinese character bigrams, as the
strict judge reads them (``answers._units``), so the two graders agree on what a word is.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

SPAN_MIN_SHARE = 0.5
REFERENCE_MIN_SHARE = 0.5
REFERENCE_MIN_UNITS = 8
ON_TARGET_MIN_UNITS = 2
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")


def question_language(text: str) -> str:
    """zh when the question holds more Chinese characters than Latin words (this grader keeps
    its own rule: it must not share the product's code)."""
    return "zh" if len(_CJK.findall(text)) / 2 >= len(re.findall(r"[A-Za-z]+", text)) else "en"


def _share(gold: set[str], answer: set[str]) -> float:
    return len(gold & answer) / len(gold) if gold else 0.0


def states_reference(reference: str, answer: str, units: Callable[[str], set[str]]) -> bool:
    gold = units(reference)
    if not gold:
        return False
    hit = len(gold & units(answer))
    return hit / len(gold) >= REFERENCE_MIN_SHARE or hit >= REFERENCE_MIN_UNITS


def states_span(spans: tuple[str, ...], answer: str, units: Callable[[str], set[str]]) -> bool:
    got = units(answer)
    return any(_share(units(span), got) >= SPAN_MIN_SHARE for span in spans if span.strip())


def on_target(
    sentence: str, *, question: str, gold_texts: list[str], units: Callable[[str], set[str]]
) -> bool:
    asked = units(question)
    gold = set().union(*(units(t) for t in gold_texts)) - asked if gold_texts else set()
    if not gold:
        return False
    shared = units(sentence) & gold
    weight = sum(2 if any(c.isdigit() for c in unit) else 1 for unit in shared)
    return weight >= min(ON_TARGET_MIN_UNITS, len(gold))


@dataclass
class Tally:
    """Counts per language; ``rates()`` turns them into the report's metrics."""

    answerable: int = 0
    useful: int = 0
    answered: int = 0
    wrong: int = 0
    published: int = 0
    off_target: int = 0

    def rates(self) -> dict:
        def rate(a: int, b: int) -> float | None:
            return round(a / b, 4) if b else None

        return {
            "useful_answer_rate": rate(self.useful, self.answerable),
            "wrong_answer_rate": rate(self.wrong, self.answered),
            "off_target_rate": rate(self.off_target, self.published),
            "answerable": self.answerable,
            "answered": self.answered,
        }


@dataclass
class Usefulness:
    by_language: dict[str, Tally] = field(default_factory=dict)

    def add(
        self,
        *,
        language: str,
        gradable: bool,
        answered: bool,
        all_supported: bool,
        states: bool,
        sentences_on_target: list[bool],
    ) -> None:
        for key in (language, "all"):
            tally = self.by_language.setdefault(key, Tally())
            if not gradable:
                continue
            tally.answerable += 1
            tally.answered += answered
            tally.useful += answered and all_supported and states
            tally.wrong += answered and not states
            tally.published += len(sentences_on_target)
            tally.off_target += sum(not ok for ok in sentences_on_target)

    def report(self) -> tuple[dict, dict]:
        overall = self.by_language.get("all", Tally()).rates()
        per_language = {k: t.rates() for k, t in self.by_language.items() if k != "all"}
        return overall, per_language
