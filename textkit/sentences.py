"""Sentence boundaries in prose, Chinese and English: the one splitter of the project.

Spans (start, end) into the original string are returned, so a sentence quoted from a passage is
exactly the source text. Ingestion cuts chunks on these boundaries and the answer side quotes on
them, so a quote never straddles what a chunk split (this code moved here from
``ingestion.chunking``, unchanged in behaviour).

- Chinese sentences end at 。！？；… (plus closing quotes or brackets), space or not.
- English ones end at . ! ? followed by a space or the end, except after abbreviations ("e.g.",
  "Dr.", "No. 5"), dotted acronyms ("U.S."), initials ("J. Lee") and list numbers ("1."), or when
  the next word starts lower-case or with a digit. "2.5" never splits: no space follows the dot.
- A line break always ends a sentence: list items, table rows and headings stand alone.

Model output with [n] citation markers is split by ``portal.qa.sentences`` (a streaming splitter
that keeps markers with their sentence); it reuses ``abbreviation_before`` from here.
"""

from __future__ import annotations

import re

from textkit.script import CJK_RANGES

_CLOSERS = "”’」』）》】\"')\\]"
_CANDIDATE = re.compile(
    rf"\n"
    rf"|[。！？；…]+[{_CLOSERS}]*"
    rf"|[.!?]+[{_CLOSERS}]*(?=\s|$)"
    rf"|[!?]+[{_CLOSERS}]*(?=[{CJK_RANGES}])"
)
_ABBREVIATIONS = frozenset({
    "e.g", "i.e", "eg", "ie", "dr", "mr", "mrs", "ms", "prof", "sr", "jr", "st", "no", "nos",
    "vs", "v", "fig", "figs", "eq", "eqs", "art", "arts", "sec", "para", "paras", "vol", "vols",
    "pp", "ch", "cf", "al", "approx", "dept", "gov", "est", "rev", "ref", "refs", "tab", "incl",
})  # fmt: skip
_DOTTED_ACRONYM = re.compile(r"^(?:[A-Za-z]\.)+[A-Za-z]$")
_LIST_MARKER = re.compile(r"^(?:\d{1,3}|[A-Za-z]|[ivxlcdm]{1,6})\.$")
_LEADING_PUNCT = "([{\"'“‘（【《"


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of ``text``, whitespace trimmed, empty pieces dropped."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _CANDIDATE.finditer(text):
        if m.group() == "\n":
            _add(text, start, m.start(), spans)
            start = m.end()
            continue
        if m.group()[0] == "." and not _ends_english_sentence(text, start, m.start(), m.end()):
            continue
        _add(text, start, m.end(), spans)
        start = m.end()
    _add(text, start, len(text), spans)
    return spans


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text`` as strings (``sentence_spans`` sliced out)."""
    return [text[a:b] for a, b in sentence_spans(text)]


def trim_span(text: str, start: int, end: int) -> tuple[int, int]:
    """``(start, end)`` narrowed past surrounding whitespace; empty (start == end) if all space."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _add(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    start, end = trim_span(text, start, end)
    if end > start:
        spans.append((start, end))


def _ends_english_sentence(text: str, sent_start: int, dot: int, after: int) -> bool:
    # Small windows only: slicing to the ends of a long block at every period would make
    # splitting quadratic.
    following = text[after : after + 16].lstrip(" \t")
    if following[:1].islower() or following[:1].isdigit():
        return False
    if abbreviation_before(text[max(sent_start, dot - 40) : dot]):
        return False
    return dot - sent_start > 12 or not _LIST_MARKER.match(text[sent_start : dot + 1].strip())


def abbreviation_before(before: str) -> bool:
    """Whether the word ending ``before`` (the text up to a period) makes that period part of
    it: an abbreviation ("e.g", "Dr"), a dotted acronym ("U.S") or an initial ("J")."""
    token = before.rsplit(None, 1)[-1] if before.strip() else ""
    token = token.lstrip(_LEADING_PUNCT)
    if token.lower() in _ABBREVIATIONS or _DOTTED_ACRONYM.match(token):
        return True
    return len(token) == 1 and token.isupper()
