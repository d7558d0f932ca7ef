"""Split a ``ParsedDocument`` into overlapping, citation-exact chunks.

Every chunk is a slice of ``doc.text`` (``chunk.text == doc.text[start:end]``),
so an answer can quote and highlight exactly what was retrieved. Chunks follow
the document structure: they pack whole sentences, never cross from one section
(heading path) into another, and overlap by whole sentences only.
"""

from __future__ import annotations

import bisect
import re

from ingestion.types import Block, ChunkDraft, ParsedDocument

_CLOSERS = "”’」』）》】\"')\\]"
_CANDIDATE = re.compile(
    rf"\n"
    rf"|[。！？；…]+[{_CLOSERS}]*"
    rf"|[.!?]+[{_CLOSERS}]*(?=\s|$)"
    rf"|[!?]+[{_CLOSERS}]*(?=[\u3400-\u9fff])"
)
_ABBREVIATIONS = frozenset({
    "e.g", "i.e", "eg", "ie", "dr", "mr", "mrs", "ms", "prof", "sr", "jr", "st", "no", "nos",
    "vs", "v", "fig", "figs", "eq", "eqs", "art", "arts", "sec", "para", "paras", "vol", "vols",
    "pp", "ch", "cf", "al", "approx", "dept", "gov", "est", "rev", "ref", "refs", "tab", "incl",
})  # fmt: skip
_DOTTED_ACRONYM = re.compile(r"^(?:[A-Za-z]\.)+[A-Za-z]$")
_LIST_MARKER = re.compile(r"^(?:\d{1,3}|[A-Za-z]|[ivxlcdm]{1,6})\.$")
_CLAUSE_BREAK = "，,；;"
_LEADING_PUNCT = "([{\"'“‘（【《"


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans of ``text``, whitespace-trimmed, in order.

    Chinese sentences end at 。！？；… (plus any closing quotes), whether or not
    a space follows. English ones end at . ! ? followed by a space or the end,
    except after abbreviations ("e.g.", "Dr.", "No. 5"), dotted acronyms
    ("U.S."), initials and list numbers, or when the next word is lowercase or
    a digit. A line break always ends a sentence (list items, table rows).
    """
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _CANDIDATE.finditer(text):
        if m.group() == "\n":
            _add_span(text, start, m.start(), spans)
            start = m.end()
            continue
        if m.group()[0] == "." and not _ends_english_sentence(text, start, m.start(), m.end()):
            continue
        _add_span(text, start, m.end(), spans)
        start = m.end()
    _add_span(text, start, len(text), spans)
    return spans


def _add_span(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start, end))


def _ends_english_sentence(text: str, sent_start: int, dot: int, after: int) -> bool:
    # Small windows only: slicing to the ends of a long block at every period
    # would make splitting quadratic.
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
    body = next((b for b in covered if b.kind != "heading"), covered[-1])
    return ChunkDraft(
        position=position,
        text=doc.text[cs:ce],
        heading_path=body.heading_path,
        page_start=min(pages) if pages else None,
        page_end=max(pages) if pages else None,
        char_start=cs,
        char_end=ce,
    )
