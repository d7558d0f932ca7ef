"""Sentence spans in passage text, Chinese and English, for quoting sentences verbatim.

Spans (start, end) into the original string are returned, so a quote is exactly the source text.
The boundaries are ingestion's (ingestion.chunking.split_sentences): Chinese and English
terminators, not "2.5" or "e.g.", and line breaks (headings, list items and table rows stand
alone).
"""

from __future__ import annotations

import re

from ingestion.chunking import split_sentences as chunk_sentence_spans


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence, whitespace trimmed, empty pieces dropped: the same
    boundaries ingestion cuts chunks on, so a quote never straddles what a chunk split."""
    return chunk_sentence_spans(text)


def split_sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in sentence_spans(text)]


_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def is_cjk(text: str) -> bool:
    """True when the text is mostly Chinese characters (decides spacing between quotes)."""
    cjk = len(_CJK.findall(text))
    latin = len(re.findall(r"[A-Za-z]", text))
    return cjk > 0 and cjk >= latin / 4
