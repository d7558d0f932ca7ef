"""What a sentence says about its own claim, beyond its words: the qualifiers a fact check compares.

A small model keeps a passage's words and changes what they say: "Yes, your 12-year-old can renew
by mail" shares most words with "adults 16 or older may renew by mail". So a fact check reads, from
a sentence and from the passage it cites, whether each negates, limits ("only"), hedges ("may
be"), gives a reason ("because"), states what is usual ("usually"), asks rather than states
("whether"), which numbers a condition bounds from below or above, and which groups of people it
names. The word lists are data (textkit/lexicons/*.txt); numbers come from ``textkit.numbers``,
so "over sixteen" and "over 16" bound the same value.

The semantics are those of the verifier's first fact reader (``portal.qa.facts``), with its
known misreadings fixed: "may" is not the month May ("Adults over 16 may renew" bounds 16 from
below and nothing else), 未成年人 names children and not also adults (成年人), 是否 asks but does
not negate, and "no more than 3" / 不超过3 are upper bounds rather than negations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Literal

from textkit import lexicons
from textkit.numbers import numbers

Direction = Literal["lower", "upper"]


@dataclass(frozen=True)
class Qualifiers:
    negated: bool  # "not", "no", 不得, 没有 ... (limits such as "no more than" excepted)
    restricted: bool  # "only", 仅, 只有 ... ("not only", 不仅 excepted)
    hedged: bool  # "may be", "suggests", 可能 ...
    causal: bool  # "because", 因为 ...
    general: bool  # "usually", 常用 ...
    asks: bool  # "to study whether", 是否 ...
    lower_bounds: frozenset[float]  # values a condition bounds from below ("16 or older")
    upper_bounds: frozenset[float]  # values bounded from above ("under 16", 未满16周岁)
    subjects: frozenset[str]  # canonical groups of people named (subjects.tsv)


def _says(text: str, topic: str) -> bool:
    return lexicons.mentions(f"{topic}_en", text) or lexicons.mentions(f"{topic}_zh", text)


def qualifiers_of(text: str) -> Qualifiers:
    """The qualifiers of ``text`` (a sentence or a passage span), in either language."""
    plain = lexicons.normalize_apostrophes(text)
    lower, upper = bounds(plain)
    return Qualifiers(
        negated=_says(plain, "negation"),
        restricted=_says(plain, "only"),
        hedged=_says(plain, "hedge"),
        causal=_says(plain, "cause"),
        general=_says(plain, "general"),
        asks=_says(plain, "asks"),
        lower_bounds=lower,
        upper_bounds=upper,
        subjects=subjects(plain),
    )


def subjects(text: str) -> frozenset[str]:
    """Canonical groups named in ``text`` (subjects.tsv; the longest term at a place wins)."""
    groups = lexicons.table("subjects")
    by_lower = {term.lower(): group for term, group in groups.items()}
    return frozenset(
        by_lower[m.group().lower()] for m in lexicons.phrase_pattern("subjects").finditer(text)
    )


# --- numeric conditions ----------------------------------------------------------------------


@dataclass(frozen=True)
class _BoundPhrases:
    before: re.Pattern[str]  # phrases that stand before the number: "at least {n}", 满{n}
    after_en: re.Pattern[str]  # after it, English: "{n} or older"
    after_zh: re.Pattern[str]  # after it, Chinese: "{n}以上"
    direction: dict[str, Direction]  # (position, normalized phrase) key -> direction


def _key(position: str, phrase: str) -> str:
    return position + ":" + " ".join(phrase.lower().split())


def _alternation(phrases: list[str]) -> str:
    out = []
    for phrase in sorted(set(phrases), key=len, reverse=True):
        body = r"\s+".join(re.escape(word) for word in phrase.split())
        out.append(rf"(?<![a-z]){body}(?![a-z])" if phrase.isascii() else body)
    return "|".join(out) or r"(?!)"


@cache
def _bound_phrases() -> _BoundPhrases:
    direction: dict[str, Direction] = {}
    before: list[str] = []
    after_en: list[str] = []
    after_zh: list[str] = []
    sides: tuple[Direction, ...] = ("lower", "upper")
    entries = [
        (side, entry)
        for side in sides
        for language in ("en", "zh")
        for entry in lexicons.load(f"bound_{side}_{language}")
    ]
    for side, entry in entries:
        head, _, tail = entry.partition("{n}")
        if head.strip():
            before.append(head.strip())
            direction[_key("before", head)] = side
        if tail.strip():
            (after_en if tail.isascii() else after_zh).append(tail.strip())
            direction[_key("after", tail)] = side
    measure = "|".join(
        re.escape(w) for w in sorted(lexicons.load("classifiers_zh"), key=len, reverse=True)
    )
    return _BoundPhrases(
        # Ending just before the number; a currency sign may come between ("up to $500").
        before=re.compile(rf"(?P<p>{_alternation(before)})[\s$¥￥€£]*$", re.IGNORECASE),
        # Up to three words may come between: "65 years of age or older".
        after_en=re.compile(
            rf"(?:[\s-]+[a-z]+){{0,3}}?[\s-]+(?P<p>{_alternation(after_en)})", re.IGNORECASE
        ),
        # Measure words may come between: 16周岁以上, 3个工作日内.
        after_zh=re.compile(rf"\s*(?:(?:{measure})\s*){{0,3}}?(?P<p>{_alternation(after_zh)})"),
        direction=direction,
    )


def _direction_before(text: str, start: int) -> Direction | None:
    phrases = _bound_phrases()
    # The leftmost match ending at the number is the longest phrase: "no more than" (upper)
    # rather than "more than" (lower), 未满 (upper) rather than 满 (lower).
    m = phrases.before.search(text, max(0, start - 40), start)
    return phrases.direction.get(_key("before", m["p"])) if m else None


def _direction_after(text: str, end: int) -> Direction | None:
    phrases = _bound_phrases()
    for pattern in (phrases.after_en, phrases.after_zh):
        m = pattern.match(text, end, end + 48)
        if m:
            return phrases.direction.get(_key("after", m["p"]))
    return None


def bounds(text: str) -> tuple[frozenset[float], frozenset[float]]:
    """(lower, upper): the values a condition in ``text`` bounds from below ("at least 16",
    "16 or older", 满16周岁, 16岁以上) and from above ("under 16", "no more than 3", 未满16周岁,
    3天内). For a range the low end takes a lower bound and the high end an upper one ("up to
    6-8 weeks" bounds 8). Ordinals bound nothing."""
    lower: set[float] = set()
    upper: set[float] = set()
    for q in numbers(text):
        if q.kind == "ordinal":
            continue
        high = q.high if q.high is not None else q.value
        for side in (_direction_before(text, q.start), _direction_after(text, q.end)):
            if side == "lower":
                lower.add(q.value)
            elif side == "upper":
                upper.add(high)
    return frozenset(lower), frozenset(upper)
