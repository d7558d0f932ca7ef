"""The title a document gives itself, used when the uploader names none.

Each parser hands over what its format declares: PDF metadata /Title, the DOCX core title (or its
first Title/Heading paragraph), the HTML ``<title>`` (or first ``<h1>``), Markdown's first ``#``
heading. Editing programs often write a placeholder there instead ("Untitled", "Document1",
"Microsoft Word - permit.docx", a bare file name), which would be worse than the file name, so
placeholders are refused here and the document's first top-level heading on its first page is
taken instead. Numbered headings ("1 Scope", "第一章 总则") name a section, not the document, so
they never become its title.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ingestion.headings import numbered_heading_level

if TYPE_CHECKING:
    from ingestion.parsers.assemble import RawBlock

# Document.title holds 300 characters; a longer "title" is a paragraph that lost its style.
MAX_TITLE_CHARS = 300
_PLACEHOLDER = re.compile(
    r"^(?:untitled(?:\s+document)?|no\s+title|new\s+document|document|doc|title|blank|draft"
    r"|default|page|slide|presentation|powerpoint\s+presentation|无标题|未命名|新建文档|文档|标题)"
    r"[\s\d_().-]*$",
    re.IGNORECASE,
)
# "Microsoft Word - permit.docx" is what Word's PDF printer writes; the rest is a file name.
_PRINTER_PREFIX = re.compile(r"^microsoft\s+(?:office\s+)?(?:word|powerpoint|excel)\s*-", re.I)
_FILE_NAME = re.compile(
    r"\.(?:docx?|pdf|rtf|odt|txt|html?|md|pptx?|xlsx?|tex|dvi|ps|indd|pages|wpd)$", re.I
)
_PATH = re.compile(r"^(?:[a-z]:\\|/|\\\\)", re.I)


def clean_title(candidate: str | None) -> str | None:
    """``candidate`` on one line and capped, or None when it is empty or a placeholder."""
    if not candidate:
        return None
    title = " ".join(candidate.split())
    if len(title) > MAX_TITLE_CHARS:
        title = title[:MAX_TITLE_CHARS].rsplit(" ", 1)[0].rstrip(" ,;:-")
    if sum(ch.isalpha() for ch in title) < 2:
        return None
    if _PLACEHOLDER.match(title) or _PRINTER_PREFIX.match(title):
        return None
    if _FILE_NAME.search(title) or _PATH.match(title):
        return None
    return title


def first_heading_title(blocks: Sequence[RawBlock]) -> str | None:
    """The first unnumbered top-level heading (level 0 or 1) on the first page, cleaned."""
    for block in blocks:
        if block.page not in (None, 1):
            break
        if block.kind != "heading" or block.level > 1:
            continue
        if numbered_heading_level(block.text) is not None:
            continue
        title = clean_title(block.text)
        if title:
            return title
    return None


def document_title(declared: str | None, blocks: Sequence[RawBlock]) -> str | None:
    """The format's declared title unless it is a placeholder, else the first heading."""
    return clean_title(declared) or first_heading_title(blocks)
