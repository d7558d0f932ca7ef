"""Plain text → blocks: paragraphs are separated by blank lines.

Lines inside a paragraph are rejoined (without spaces between Chinese
characters). Chinese files often put each paragraph on one line, indented with
full-width spaces and with no blank line between, so an indented line, a line
after 。！？ and an article such as "第三条" also start a paragraph. List items
stay one per line in a "list" block; a standalone numbered line such as
"第一章 总则" or "2.1 Scope" becomes a heading.
"""

from __future__ import annotations

import re

from ingestion.headings import looks_like_heading
from ingestion.normalize import join_lines
from ingestion.parsers.assemble import RawBlock, build_document
from ingestion.sniff import TEXT, decode_text
from ingestion.types import ParsedDocument, ParseLimits

_BLANK = re.compile(r"\n[ \t\u3000]*\n")
_LIST_ITEM = re.compile(
    r"^[ \t\u3000]*(?:[-*•·▪◦●]\s|\d{1,3}[.)]\s|[（(][一二三四五六七八九十\d]+[)）]|[a-z]\)\s)"
)
_NEW_PARAGRAPH = re.compile(
    r"^第[一二三四五六七八九十百零〇\d]+[条章节编]|^[一二三四五六七八九十]+、"
)
_INDENT = re.compile(r"[ \t]{2,}|\u3000")
_SHORT_HEADING_CHARS = 40
_CJK_SENTENCE_END = tuple("。！？：")


def parse_text(data: bytes, *, limits: ParseLimits) -> ParsedDocument:
    text = decode_text(data).replace("\r\n", "\n").replace("\r", "\n")
    blocks: list[RawBlock] = []
    for chunk in _BLANK.split(text):
        lines = [line for line in chunk.split("\n") if line.strip()]
        items: list[str] = []
        for group in _groups(lines):
            joined = join_lines(group)
            if _LIST_ITEM.match(group[0]):
                items.append(joined)
                continue
            _flush_list(blocks, items)
            level = looks_like_heading(joined, allow_title_case=False) if len(group) == 1 else None
            if level is not None:
                blocks.append(RawBlock("heading", joined, level=level))
            else:
                blocks.append(RawBlock("paragraph", joined))
        _flush_list(blocks, items)
    return build_document(blocks, media_type=TEXT, title=None)


def _flush_list(blocks: list[RawBlock], items: list[str]) -> None:
    if len(items) == 1:
        blocks.append(RawBlock("paragraph", items[0]))
    elif items:
        blocks.append(RawBlock("list", "\n".join(items)))
    items.clear()


def _heading_line(group: list[str]) -> bool:
    # Only a short single line: a wrapped numbered paragraph also starts "1.2 ...".
    line = group[0].strip()
    return (
        len(group) == 1
        and len(line) <= _SHORT_HEADING_CHARS
        and looks_like_heading(line, allow_title_case=False) is not None
    )


def _groups(lines: list[str]) -> list[list[str]]:
    """Split the lines of one blank-line-separated chunk into paragraphs and items."""
    indented = [bool(_INDENT.match(line)) for line in lines]
    # When every line is indented (a quoted block), indentation carries no signal.
    use_indent = not all(indented)
    groups: list[list[str]] = []
    for line, is_indented in zip(lines, indented, strict=True):
        starts = (
            not groups
            or _LIST_ITEM.match(line)
            or (use_indent and is_indented)
            or _NEW_PARAGRAPH.match(line.strip())
            or groups[-1][-1].rstrip().endswith(_CJK_SENTENCE_END)
            or _heading_line(groups[-1])
        )
        if starts:
            groups.append([line])
        else:
            groups[-1].append(line)
    return groups
