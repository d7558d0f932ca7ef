"""Turn the raw blocks a format parser emits into a ``ParsedDocument``.

Keeping normalization, markup stripping (``ingestion.markup``), heading paths and
offsets here means every format gets the same invariants:
``doc.text[b.char_start:b.char_end] == b.text`` for each block, blocks separated
by exactly one blank line, no empty blocks, and no HTML tags, script/style
content or script/data URLs in any text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingestion.markup import strip_markup
from ingestion.normalize import normalize_text
from ingestion.titles import document_title
from ingestion.types import Block, ParsedDocument
from textkit import language_of

BLOCK_SEPARATOR = "\n\n"
# The document's language is read from its opening (textkit's one rule): enough text to decide,
# without counting every character of a long book.
_LANGUAGE_SAMPLE = 200_000
_BLANK_LINES = re.compile(r"\n{2,}")


@dataclass
class RawBlock:
    """A block before normalization; ``level`` is only meaningful for headings.

    Levels only need to be ordered (smaller = higher up), so Title can be 0 and
    numbered headings can use their depth.
    """

    kind: str
    text: str
    level: int = 0
    page: int | None = None
    ocr_confidence: float | None = None  # set by ingestion.ocr for text read from a scan


def _plain(text: str) -> str:
    """Normalized text with no markup. Normalized first, so a zero-width or control character
    cannot split a tag past ``strip_markup``; again after, for the gaps removed markup leaves."""
    return normalize_text(strip_markup(normalize_text(text)))


def build_document(
    raw_blocks: list[RawBlock],
    *,
    media_type: str,
    title: str | None,
    page_count: int | None = None,
) -> ParsedDocument:
    stack: list[tuple[int, str]] = []
    blocks: list[Block] = []
    parts: list[str] = []
    headings: list[RawBlock] = []
    offset = 0
    for raw in raw_blocks:
        text = _plain(raw.text)
        if raw.kind == "heading":
            # A heading is one line in every heading path it appears in.
            text = " ".join(text.split("\n")).strip()
        else:
            # Inside a block lines are single-spaced so that a blank line in
            # ``doc.text`` always means a block boundary.
            text = _BLANK_LINES.sub("\n", text)
        if not text:
            continue
        if raw.kind == "heading":
            while stack and stack[-1][0] >= raw.level:
                stack.pop()
            stack.append((raw.level, text))
            headings.append(RawBlock("heading", text, level=raw.level, page=raw.page))
        if parts:
            offset += len(BLOCK_SEPARATOR)
        blocks.append(
            Block(
                text=text,
                kind=raw.kind,
                heading_path=tuple(h for _, h in stack),
                page=raw.page,
                char_start=offset,
                char_end=offset + len(text),
                ocr_confidence=raw.ocr_confidence,
            )
        )
        parts.append(text)
        offset += len(text)
    full = BLOCK_SEPARATOR.join(parts)
    return ParsedDocument(
        media_type=media_type,
        # The declared title, or the first heading when it is a placeholder (ingestion/titles.py).
        title=document_title(_plain(title) if title else None, headings),
        text=full,
        blocks=tuple(blocks),
        page_count=page_count,
        language=language_of(full[:_LANGUAGE_SAMPLE]),
    )
