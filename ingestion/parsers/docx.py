"""DOCX → blocks with python-docx, after vetting the ZIP directory.

A DOCX is a ZIP archive, so a small upload can unpack to gigabytes. The
central directory is checked (total declared size, entry count, compression
ratio) before python-docx decompresses anything. Declared sizes cannot be used
to smuggle more data: ``zipfile`` stops at the declared size and fails the CRC.
"""

from __future__ import annotations

import io
import re
import zipfile

from ingestion.errors import ArchiveTooLarge, CorruptFile, UnsupportedType, human_size
from ingestion.parsers.assemble import RawBlock, build_document
from ingestion.sniff import DOCX
from ingestion.types import ParsedDocument, ParseLimits

# Word XML compresses 5-30x; a ratio in the hundreds on a large entry is a bomb.
_MAX_RATIO = 300
_RATIO_MIN_BYTES = 2 * 1024 * 1024
_HEADING_STYLE = re.compile(r"^(?:heading|标题)\s*(\d)$", re.IGNORECASE)
_TITLE_STYLES = {"title", "标题"}


def check_zip_directory(data: bytes, *, limits: ParseLimits) -> None:
    """Raise ArchiveTooLarge from the ZIP directory alone, before anything is unpacked."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise CorruptFile(
            f"The DOCX archive is damaged ({exc}); re-save it from Word and upload again."
        ) from exc
    if len(infos) > limits.max_zip_entries:
        raise ArchiveTooLarge(
            f"The DOCX contains {len(infos)} files; the limit is {limits.max_zip_entries}. "
            "This is not a normal Word document; re-save it from Word or export it as PDF."
        )
    total = sum(info.file_size for info in infos)
    if total > limits.max_unpacked_bytes:
        raise ArchiveTooLarge(
            f"The DOCX would unpack to {human_size(total)}; the limit is "
            f"{human_size(limits.max_unpacked_bytes)}. Remove large embedded images or "
            "objects, or split the document, and upload again."
        )
    for info in infos:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > _RATIO_MIN_BYTES and ratio > _MAX_RATIO:
            raise ArchiveTooLarge(
                f"The DOCX entry {info.filename!r} expands {ratio:.0f}-fold "
                f"(to {human_size(info.file_size)}), which only happens in archives built "
                "to exhaust memory. Re-save the document from Word and upload again."
            )


def parse_docx(data: bytes, *, limits: ParseLimits) -> ParsedDocument:
    check_zip_directory(data, limits=limits)
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(io.BytesIO(data))
    except ValueError as exc:
        if "not a Word file" in str(exc):
            raise UnsupportedType(
                f"This archive is not a plain Word document ({exc}); save it as .docx "
                "(macro-free) or PDF and upload again."
            ) from exc
        raise CorruptFile(f"The DOCX could not be read ({exc}); re-save it from Word.") from exc
    except (KeyError, zipfile.BadZipFile) as exc:
        raise CorruptFile(
            f"The DOCX is missing required parts ({exc}); re-save it from Word and upload again."
        ) from exc

    blocks: list[RawBlock] = []
    first_title: str | None = None
    first_heading: str | None = None
    list_items: list[str] = []

    def flush_list() -> None:
        if list_items:
            blocks.append(RawBlock("list", "\n".join(list_items)))
            list_items.clear()

    for item in document.iter_inner_content():
        if isinstance(item, Table):
            flush_list()
            blocks.append(RawBlock("table", _table_text(item)))
            continue
        if not isinstance(item, Paragraph):
            continue
        text = item.text.strip()
        if not text:
            continue
        level = _heading_level(item)
        if level is not None:
            flush_list()
            if level == 0 and first_title is None:
                first_title = text
            if first_heading is None:
                first_heading = text
            blocks.append(RawBlock("heading", text, level=level))
        elif _is_list_item(item):
            list_items.append("- " + text)
        else:
            flush_list()
            blocks.append(RawBlock("paragraph", text))
    flush_list()
    core_title = (document.core_properties.title or "").strip()
    title = core_title or first_title or first_heading
    return build_document(blocks, media_type=DOCX, title=title)


def _style_chain(paragraph):
    try:
        style = paragraph.style
    except (KeyError, ValueError, AttributeError):
        return
    seen = 0
    while style is not None and seen < 10:
        yield style
        style = style.base_style
        seen += 1


def _heading_level(paragraph) -> int | None:
    """0 for Title, N for Heading N; style names first, then Word's outline level."""
    for style in _style_chain(paragraph):
        name = (style.name or "").strip()
        if name.lower() in _TITLE_STYLES:
            return 0
        m = _HEADING_STYLE.match(name)
        if m:
            return int(m.group(1))
    # Localised templates (e.g. WPS) may give headings arbitrary style names but
    # keep the outline level; 9 means body text.
    for element in [paragraph._p, *(s.element for s in _style_chain(paragraph))]:
        values = element.xpath("./w:pPr/w:outlineLvl/@w:val")
        if values and values[0].isdigit() and int(values[0]) < 9:
            return int(values[0]) + 1
    return None


def _is_list_item(paragraph) -> bool:
    if paragraph._p.xpath("./w:pPr/w:numPr"):
        return True
    return any((s.name or "").lower().startswith("list") for s in _style_chain(paragraph))


def _table_text(table) -> str:
    rows: list[str] = []
    for row in table.rows:
        cells: list[str] = []
        seen: set[object] = set()
        for cell in row.cells:
            # Merged cells come back once per grid column they span.
            if cell._tc in seen:
                continue
            seen.add(cell._tc)
            cells.append(" ".join(cell.text.split()))
        if any(cells):
            rows.append(" | ".join(cells))
    return "\n".join(rows)
