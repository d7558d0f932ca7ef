"""Sentences and titles in passage text, Chinese and English, for quoting sentences verbatim.

Spans (start, end) into the original string are returned, so a quote is exactly the source text.
Sentence boundaries and the language rule are textkit's (``textkit.sentence_spans``,
``textkit.is_chinese``): the same boundaries ingestion cuts chunks on, so a quote never straddles
what a chunk split.
"""

from __future__ import annotations

import re

from textkit import cjk_count, sentence_spans, split_sentences
from textkit import is_chinese as is_cjk

__all__ = [
    "is_cjk",
    "is_heading",
    "is_title",
    "sentence_spans",
    "split_sentences",
    "title_lines",
]

# Closing punctuation, figures, a colon or a comma: a line that has any of these says something.
_SAYS = re.compile(r"[。！？；.!?…:：;,，、)）\]\"'”’]\s*$|\d|[:：,，]")
_LIST_ITEM = re.compile(r"\s*(?:[-*•+]\s|\d+[.)]\s)")


def is_title(line: str) -> bool:
    """A line that names rather than says, of any length: no closing punctuation, figures,
    colon or comma ("最高人民法院关于审理环境民事公益诉讼案件适用法律若干问题的解释第十八条")."""
    text = line.strip()
    return bool(text) and not _SAYS.search(text) and not _LIST_ITEM.match(text)


def is_heading(line: str) -> bool:
    """A title line ("A child with a disability", "Reduced fee or 'No Fee' non-driver IDs",
    "辅助检查"): short, no closing punctuation, no figures. Quoted alone it answers nothing: a
    demo question on SSI for a disabled child was "answered" with that heading. List items
    ("- Have a valid Social Security number") and data lines ("血糖： 16.7mmol/L") are not."""
    if not is_title(line):
        return False
    text = line.strip()
    cjk = cjk_count(text)
    words = len(text.split())
    return cjk <= 12 if cjk > words else words <= 8


def title_lines(text: str) -> frozenset[str]:
    """Lines that stand alone as a paragraph and name rather than say (``is_title``), of any
    length: a section's title, a case record's "食管疾病 案例分析-胃食管反流病". A CMB-Clin
    question that names its case drew that title as the "answer" to "简述本例病人的治疗原则"."""
    found = set()
    for paragraph in re.split(r"\n\s*\n", text):
        line = paragraph.strip()
        if line and "\n" not in line and is_title(line):
            found.add(line)
    return frozenset(found)
