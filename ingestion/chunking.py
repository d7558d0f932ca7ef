"""Split a ``ParsedDocument`` into overlapping, citation-exact chunks.

Every chunk is a slice of ``doc.text`` (``chunk.text == doc.text[start:end]``),
so an answer can quote and highlight exactly what was retrieved. Chunks follow
the document structure: they pack whole sentences, never cross from one section
(heading path) into another, and overlap by whole sentences only.
"""

from __future__ import annotations

import bisect

from ingestion.types import Block, ChunkDraft, ParsedDocument

# Chunks are cut on textkit's sentence boundaries, the same ones answers quote on, so a quote
# never straddles a chunk split. ``abbreviation_before`` stays importable from here for callers
# that have not moved to textkit.
from textkit.sentences import abbreviation_before as abbreviation_before
from textkit.sentences import sentence_spans as split_sentences
from textkit.sentences import trim_span

_CLAUSE_BREAK = "，,；;"


def _add_span(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    start, end = trim_span(text, start, end)
    if end > start:
        spans.append((start, end))


def _split_long(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    """Cut an over-long sentence at the last clause break (or space) that fits, else hard."""
    pieces: list[tuple[int, int]] = []
    while end - start > max_chars:
        window = text[start : start + max_chars]
        floor = max_chars // 4
        cut = max((window.rfind(ch) for ch in _CLAUSE_BREAK), default=-1) + 1
        if cut <= floor:
            cut = max(window.rfind(" "), window.rfind("\t"))
        if cut <= floor:
            cut = max_chars
        _add_span(text, start, start + cut, pieces)
        start += cut
        while start < end and text[start].isspace():
            start += 1
    _add_span(text, start, end, pieces)
    return pieces


def _sections(blocks: tuple[Block, ...]) -> list[list[Block]]:
    """Group consecutive blocks that share a heading path.

    A section made only of headings joins the section nested under it, so
    "Chapter 1" directly followed by "1.1 Scope" does not become a chunk that
    is nothing but a title.
    """
    sections: list[list[Block]] = []
    path: tuple[str, ...] | None = None
    for block in blocks:
        same = block.heading_path == path
        nested_under_titles = (
            path is not None
            and all(b.kind == "heading" for b in sections[-1])
            and block.heading_path[: len(path)] == path
        )
        if sections and (same or nested_under_titles):
            sections[-1].append(block)
        else:
            sections.append([block])
        path = block.heading_path
    return sections


def chunk_document(
    doc: ParsedDocument, *, max_chars: int = 800, overlap_chars: int = 120
) -> list[ChunkDraft]:
    """Pack sentences into chunks of at most ``max_chars`` characters.

    ``overlap_chars`` is capped below ``max_chars`` so every chunk adds new
    text. A chunk's heading path is that of its first block, except that a
    chunk opening with a parent heading merged into its first subsection (see
    ``_sections``) takes the subsection's path, which includes the parent.
    Deterministic: the same document always gives the same chunks.
    """
    if max_chars < 1:
        raise ValueError("max_chars must be positive")
    if overlap_chars < 0:
        raise ValueError("overlap_chars must not be negative")
    overlap_chars = min(overlap_chars, max_chars - 1)
    text = doc.text
    starts = [b.char_start for b in doc.blocks]
    chunks: list[ChunkDraft] = []
    for section in _sections(doc.blocks):
        units: list[tuple[int, int]] = []
        for block in section:
            for s, e in split_sentences(text[block.char_start : block.char_end]):
                units.extend(
                    _split_long(text, block.char_start + s, block.char_start + e, max_chars)
                )
        for first, last in _pack(units, max_chars=max_chars, overlap_chars=overlap_chars):
            cs, ce = units[first][0], units[last][1]
            chunks.append(_draft(doc, starts, len(chunks), cs, ce))
    return chunks


def _pack(
    units: list[tuple[int, int]], *, max_chars: int, overlap_chars: int
) -> list[tuple[int, int]]:
    """Index ranges (first, last) of units per chunk, with sentence overlap."""
    ranges: list[tuple[int, int]] = []
    i = 0
    while i < len(units):
        j = i
        while j + 1 < len(units) and units[j + 1][1] - units[i][0] <= max_chars:
            j += 1
        ranges.append((i, j))
        if j == len(units) - 1:
            break
        # Step back over trailing sentences while they fit in the overlap and
        # still leave room for the next new sentence; always move forward.
        k = j + 1
        while (
            k - 1 > i
            and units[j][1] - units[k - 1][0] <= overlap_chars
            and units[j + 1][1] - units[k - 1][0] <= max_chars
        ):
            k -= 1
        i = k
    return ranges


def _draft(doc: ParsedDocument, starts: list[int], position: int, cs: int, ce: int) -> ChunkDraft:
    first = max(bisect.bisect_right(starts, cs) - 1, 0)
    last = max(bisect.bisect_left(starts, ce) - 1, first)
    covered = doc.blocks[first : last + 1]
    pages = [b.page for b in covered if b.page is not None]
    confidences = [b.ocr_confidence for b in covered if b.ocr_confidence is not None]
    body = next((b for b in covered if b.kind != "heading"), covered[-1])
    return ChunkDraft(
        position=position,
        text=doc.text[cs:ce],
        heading_path=body.heading_path,
        page_start=min(pages) if pages else None,
        page_end=max(pages) if pages else None,
        char_start=cs,
        char_end=ce,
        ocr_confidence=min(confidences) if confidences else None,
    )
