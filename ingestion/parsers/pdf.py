"""PDF text layer → blocks, with PDFium (pypdfium2).

PDFium only reports lines, so paragraphs and headings are rebuilt from
geometry: a paragraph ends at an unusually large vertical gap, a change of font
size, an indented first line, or a short line that ends a sentence; a heading is
a short line without final punctuation that is larger or bold, or is numbered
like a section ("1.2 Eligibility", "第一章").

Speed, measured with ``python -m ingestion.bench_pdf --pages 300`` on the
2-core dev container (fpdf2 pages, each a heading and four wrapped paragraphs,
~50 lines): about 800 pages/s in-process with ``parse_bytes`` and about 550
pages/s through ``parse_file_isolated`` (child start-up included). The target is
>= 100 pages/s.
"""

from __future__ import annotations

import ctypes
import itertools
import re
import statistics
from dataclasses import dataclass

from ingestion.errors import CorruptFile, EncryptedFile, FileTooLarge
from ingestion.headings import MAX_HEADING_CHARS, looks_like_heading, numbered_heading_level
from ingestion.normalize import join_lines
from ingestion.ocr import pdf_scanned_pages
from ingestion.parsers.assemble import RawBlock, build_document
from ingestion.sniff import PDF
from ingestion.types import ParsedDocument, ParseLimits

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_PAGE_NUMBER = re.compile(
    r"^(?:page\s*)?\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?$|^[-–—]\s*\d{1,4}\s*[-–—]$"
    r"|^第\s*\d{1,4}\s*页(?:\s*[,，/]?\s*共\s*\d{1,4}\s*页)?$",
    re.IGNORECASE,
)
# Lines that start a new item even without extra spacing above them.
_ITEM_START = re.compile(
    r"^(?:[•·▪◦●○■□‣⁃\-–*]\s|\d{1,3}[.)]\s|\(?[a-z]\)\s|[（(][一二三四五六七八九十\d]+[)）]"
    r"|[一二三四五六七八九十]+、|第[一二三四五六七八九十百零〇\d]+[条章节])"
)
_NUMBERED_LIST_ITEM = re.compile(r"^\d{1,3}[.)]\s")
_SENTENCE_END = tuple(".。!！?？:：;；")
_HEADING_SIZE_RATIO = 1.15


@dataclass
class _Line:
    text: str
    left: float
    right: float
    bottom: float
    height: float
    bold: bool


def parse_pdf(data: bytes, *, limits: ParseLimits) -> ParsedDocument:
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if exc.err_code in (pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY):
            raise EncryptedFile(
                "The PDF is password-protected. Remove the password (print or export "
                "it as an unprotected PDF) and upload it again."
            ) from exc
        raise CorruptFile(
            f"The PDF could not be opened ({exc}); it may be damaged or incomplete. "
            "Re-export it from the original program and upload it again."
        ) from exc
    try:
        page_count = len(pdf)
        if page_count == 0:
            raise CorruptFile("The PDF has no pages; re-export it and upload it again.")
        if page_count > limits.max_pages:
            raise FileTooLarge(
                f"The PDF has {page_count} pages; the limit is {limits.max_pages}. "
                "Split it into smaller files and upload them separately."
            )
        title = (pdf.get_metadata_value("Title") or "").strip() or None
        pages = [_page_lines(pdf, i, pdfium_c) for i in range(page_count)]
        # Pages with (almost) no text layer are scans: read them with OCR (ingestion/ocr.py).
        scanned = pdf_scanned_pages(
            pdf, [sum(len(line.text) for line in lines) for lines in pages], limits=limits
        )
    finally:
        pdf.close()
    if not any(pages) and not scanned.blocks:
        raise scanned.no_text_error(page_count)
    body_height = _body_height(pages) if any(pages) else 0.0
    raw_blocks: list[RawBlock] = []
    heading_heights: set[float] = set()
    pending: list[tuple[RawBlock, float | None]] = []
    for page_no, lines in enumerate(pages, start=1):
        if page_no in scanned.blocks:
            pending += [(block, None) for block in scanned.blocks[page_no]]
            continue
        for para in _paragraphs(lines):
            block, size = _classify(para, page_no, body_height)
            pending.append((block, size))
            if block.kind == "heading":
                heading_heights.add(para[0].height)
    # Unnumbered headings get their level from how large they are relative to
    # all headings of the document, numbered ones included.
    ranks = {h: i + 1 for i, h in enumerate(sorted(heading_heights, reverse=True))}
    for block, size in pending:
        if size is not None:
            block.level = ranks[size]
        raw_blocks.append(block)
    doc = build_document(raw_blocks, media_type=PDF, title=title, page_count=page_count)
    return scanned.attach(doc)


def _page_lines(pdf, index: int, pdfium_c) -> list[_Line]:
    page = pdf[index]
    textpage = page.get_textpage()
    try:
        text = textpage.get_text_range()
        n_chars = textpage.count_chars()
        lines: list[_Line] = []
        pos = 0
        for m in [*_LINE_BREAK.finditer(text), None]:
            end = m.start() if m else len(text)
            raw = text[pos:end]
            stripped = raw.strip()
            if stripped and not _PAGE_NUMBER.match(stripped):
                first = pos + (len(raw) - len(raw.lstrip()))
                last = pos + len(raw.rstrip()) - 1
                lines.append(_measure(textpage, pdfium_c, stripped, first, last, n_chars))
            pos = m.end() if m else len(text)
        return lines
    finally:
        textpage.close()
        page.close()


def _measure(textpage, pdfium_c, text: str, first: int, last: int, n_chars: int) -> _Line:
    # Loose boxes (font ascent to descent) have the same height for every glyph
    # of a font size, unlike tight glyph boxes, so they compare across lines.
    first = min(first, n_chars - 1)
    last = min(max(last, first), n_chars - 1)
    try:
        left, bottom, _, top = textpage.get_charbox(first, loose=True)
        right = textpage.get_charbox(last, loose=True)[2]
    except Exception:
        left = bottom = right = 0.0
        top = 10.0
    bold = _is_bold(textpage, pdfium_c, first)
    return _Line(text, left, right, bottom, round(max(top - bottom, 0.1), 1), bold)


def _is_bold(textpage, pdfium_c, index: int) -> bool:
    if pdfium_c.FPDFText_GetFontWeight(textpage.raw, index) >= 600:
        return True
    buf = ctypes.create_string_buffer(128)
    flags = ctypes.c_int(0)
    n = pdfium_c.FPDFText_GetFontInfo(textpage.raw, index, buf, len(buf), ctypes.byref(flags))
    name = buf.raw[: max(n - 1, 0)].decode("latin-1").lower()
    return "bold" in name or "heavy" in name or "black" in name


def _body_height(pages: list[list[_Line]]) -> float:
    weight: dict[float, int] = {}
    for lines in pages:
        for line in lines:
            weight[line.height] = weight.get(line.height, 0) + len(line.text)
    return max(weight, key=lambda h: (weight[h], -h))


def _paragraphs(lines: list[_Line]) -> list[list[_Line]]:
    if not lines:
        return []
    pitches = [
        a.bottom - b.bottom
        for a, b in itertools.pairwise(lines)
        if _same_size(a, b) and 0.5 * a.height < a.bottom - b.bottom < 4 * a.height
    ]
    # The lower quartile is the normal line pitch even on pages where most
    # paragraphs are a single line (their median pitch is the paragraph gap).
    pitch = statistics.quantiles(pitches, n=4)[0] if len(pitches) >= 4 else None
    margin = min(line.left for line in lines)
    text_right = max(line.right for line in lines)
    paras: list[list[_Line]] = [[lines[0]]]
    for a, b in itertools.pairwise(lines):
        if _breaks(a, b, pitch=pitch, margin=margin, text_right=text_right):
            paras.append([b])
        else:
            paras[-1].append(b)
    return paras


def _same_size(a: _Line, b: _Line) -> bool:
    return abs(a.height - b.height) <= 0.15 * max(a.height, b.height)


def _breaks(a: _Line, b: _Line, *, pitch: float | None, margin: float, text_right: float) -> bool:
    gap = a.bottom - b.bottom
    if not _same_size(a, b) or a.bold != b.bold:
        return True
    # Moving up or staying on the baseline: a new column, a table cell or a
    # text box, none of which continues the previous line's sentence.
    if gap < 0.5 * a.height:
        return True
    limit = 1.3 * pitch if pitch else 1.5 * a.height
    if gap > max(limit, 1.25 * a.height):
        return True
    if _ITEM_START.match(b.text):
        return True
    indent = 1.2 * b.height
    if b.left - margin > indent and a.left - margin < 0.5 * indent:
        return True
    return a.text.endswith(_SENTENCE_END) and a.right < text_right - 3 * a.height


def _classify(para: list[_Line], page: int, body_height: float) -> tuple[RawBlock, float | None]:
    """Return the block and, for unnumbered headings, the height that ranks its level."""
    text = join_lines([line.text for line in para])
    first = para[0]
    if len(para) > 2 or len(text) > MAX_HEADING_CHARS:
        return RawBlock("paragraph", text, page=page), None
    larger = first.height >= _HEADING_SIZE_RATIO * body_height
    numbered = numbered_heading_level(text)
    if numbered is not None and looks_like_heading(text) is not None:
        plain_single = len(para) == 1 and not _NUMBERED_LIST_ITEM.match(text)
        if larger or first.bold or plain_single:
            return RawBlock("heading", text, level=numbered, page=page), None
    if larger and not text.endswith(_SENTENCE_END):
        return RawBlock("heading", text, page=page), first.height
    if first.bold and looks_like_heading(text) is not None:
        return RawBlock("heading", text, page=page), first.height
    return RawBlock("paragraph", text, page=page), None
