"""Sentence spans in passage text, Chinese and English, for quoting sentences verbatim.

Spans (start, end) into the original string are returned, so a quote is exactly the source text.
Boundaries: the Chinese terminators 。！？； (and their closing quotes/brackets), "!" and "?",
a "." followed by whitespace (not "2.5", not "e.g. " or "Dr. "), and line breaks (headings, list
items and table rows stand alone).
"""

from __future__ import annotations

import re

_BOUNDARY = re.compile(
    r"[。！？；!?]+[”’」』）)\]\"']*"  # CJK and !? terminators with their closing quotes
    r"|\.+[”’」』）)\]\"']*(?=\s)"  # "." followed by whitespace
    r"|\.+[”’」』）)\]\"']*$"
    r"|\n"
)
_ABBREVIATIONS = frozenset(
    "e.g i.e etc dr mr mrs ms no vs approx fig al st jr sr inc ltd co dept u.s sec art para".split()
)
_WORD_BEFORE = re.compile(r"([A-Za-z][A-Za-z.]*)$")


def _is_abbreviation(text: str, dot: int) -> bool:
    match = _WORD_BEFORE.search(text, 0, dot)
    if match is None:
        return False
    word = match.group(1).lower().rstrip(".")
    # A single capital letter ("J. Smith") is an initial, not the end of a sentence.
    return word in _ABBREVIATIONS or (len(word) == 1 and text[match.start()].isupper())


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence, whitespace trimmed, empty pieces dropped."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        if match.group().startswith(".") and _is_abbreviation(text, match.start()):
            continue
        _add(text, start, match.end(), spans)
        start = match.end()
    _add(text, start, len(text), spans)
    return spans


def _add(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start, end))


def split_sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in sentence_spans(text)]


_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def is_cjk(text: str) -> bool:
    """True when the text is mostly Chinese characters (decides spacing between quotes)."""
    cjk = len(_CJK.findall(text))
    latin = len(re.findall(r"[A-Za-z]", text))
    return cjk > 0 and cjk >= latin / 4
