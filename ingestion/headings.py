"""Guess whether a line of a PDF or plain-text file is a section heading.

Formats without markup only give us the words, so this stays deliberately
modest: a heading is short, has no sentence-final punctuation and either is
numbered the way policy documents number sections ("1.2 Eligibility",
"第一章 总则", "一、", "（二）") or, in English, is title-cased. Font size,
where the caller knows it, is the caller's business.
"""

from __future__ import annotations

import re

MAX_HEADING_CHARS = 80
_CN_NUM = "零〇一二三四五六七八九十百千两"

_DECIMAL = re.compile(r"^(\d{1,2}(?:\.\d{1,2}){0,4})\.?[ \t]+\S")
_CN_PART = re.compile(rf"^第[{_CN_NUM}\d]+[编部篇章](?:[ \t\u3000]|$)")
_CN_SECTION = re.compile(rf"^第[{_CN_NUM}\d]+节(?:[ \t\u3000]|$)")
_CN_ITEM = re.compile(rf"^[{_CN_NUM}]+、\S")
_CN_PAREN_ITEM = re.compile(rf"^[（(][{_CN_NUM}]+[)）]\S")
_EN_CHAPTER = re.compile(r"^(?:chapter|part|section|article|annex|appendix)\s+[\dIVXLC]+\b", re.I)
_FINAL_PUNCT = tuple(".。!！?？;；,，:：、")
_SMALL_WORDS = {
    "a", "an", "and", "as", "at", "by", "for", "from", "in", "into", "of", "on", "or",
    "the", "to", "with", "vs", "via", "per", "under",
}  # fmt: skip


def numbered_heading_level(line: str) -> int | None:
    """Level implied by a heading number, or None when the line is not numbered like one."""
    s = line.strip()
    if not s or len(s) > MAX_HEADING_CHARS:
        return None
    if _CN_PART.match(s) or _EN_CHAPTER.match(s):
        return 1
    if _CN_SECTION.match(s):
        return 2
    if _CN_ITEM.match(s):
        return 2
    if _CN_PAREN_ITEM.match(s):
        return 3
    m = _DECIMAL.match(s)
    if m:
        return m.group(1).count(".") + 1
    return None


def looks_like_heading(line: str, *, allow_title_case: bool = True) -> int | None:
    """Heading level for a standalone line, or None.

    Chinese numbered items such as "一、" often introduce a full sentence in
    policy texts, so any line ending like a sentence is rejected first.
    """
    s = line.strip()
    if not s or len(s) > MAX_HEADING_CHARS or "\n" in s:
        return None
    if s.endswith(_FINAL_PUNCT):
        return None
    level = numbered_heading_level(s)
    if level is not None:
        # "1. Take two tablets daily" is a list item, not a heading, when long.
        return level if len(s.split()) <= 12 else None
    if allow_title_case and _is_title_case(s):
        return 1
    return None


def _is_title_case(s: str) -> bool:
    words = re.findall(r"[A-Za-z][A-Za-z'’-]*", s)
    if not words or len(words) > 10 or not s[0].isupper():
        return False
    if len(words) == 1:
        return len(s) >= 4 and s.isalpha()
    significant = [w for w in words if w.lower() not in _SMALL_WORDS]
    return bool(significant) and all(w[0].isupper() for w in significant)
