"""Decide what an upload really is from its bytes, and decode text files.

The name and the browser's Content-Type are attacker-controlled, so only the
content decides; the file name only tips the balance between Markdown and plain
text, which parse the same way when in doubt.
"""

from __future__ import annotations

import io
import re
import zipfile

from ingestion.errors import CorruptFile, EmptyFile, UnsupportedType

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
HTML = "text/html"
MARKDOWN = "text/markdown"
TEXT = "text/plain"
# Images are read with OCR (ingestion/ocr.py); a multi-page TIFF is one page per frame.
PNG = "image/png"
JPEG = "image/jpeg"
TIFF = "image/tiff"
IMAGE_TYPES = (PNG, JPEG, TIFF)
_IMAGE_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"\xff\xd8\xff", JPEG),
    (b"II*\x00", TIFF),
    (b"MM\x00*", TIFF),
)

_SNIFF_BYTES = 64 * 1024
# A few undecodable bytes (one damaged character in a long file) should not
# reject a text file; a binary file produces far more than this.
_BAD_BYTE_TOLERANCE = 0.01

_BINARY_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "a legacy Microsoft Office file (.doc/.xls/.ppt)"),
    (b"{\\rtf", "an RTF document"),
    (b"GIF87a", "a GIF image (save it as PNG to have its text read)"),
    (b"GIF89a", "a GIF image (save it as PNG to have its text read)"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"Rar!\x1a", "a RAR archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
)
_SUPPORTED_HINT = (
    "Supported formats are PDF, DOCX, HTML, Markdown, plain text, and PNG, JPEG or TIFF "
    "images (read with OCR)."
)

_HTML_START = re.compile(
    r"^(?:\s|<!--.*?-->|<\?xml[^>]*>)*<(?:!doctype\s+html|html|head|body)\b", re.I | re.S
)
_HTML_TAG = re.compile(
    r"<(?:p|div|span|br|h[1-6]|table|tr|td|ul|ol|li|a\s|meta|title|body|head|html|script|style)\b",
    re.I,
)
_MD_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+\S", re.M)
_MD_SETEXT = re.compile(r"^\S.*\n {0,3}(?:=+|-{2,})[ \t]*$", re.M)
_MD_LIST = re.compile(r"^ {0,3}(?:[-*+]|\d{1,3}[.)])[ \t]+\S", re.M)
_MD_FENCE = re.compile(r"^ {0,3}(?:```|~~~)", re.M)
_MD_LINK = re.compile(r"!?\[[^\]\n]+\]\([^)\s]+\)")


def detect_media_type(data: bytes, *, filename: str = "") -> str:
    """Return one of the supported media types or raise why the file is not one."""
    if not data:
        raise EmptyFile("The file is empty (0 bytes); check the upload and try again.")
    head = data[:1024]
    if head.lstrip(b"\x00\t\r\n \xef\xbb\xbf")[:5] == b"%PDF-":
        return PDF
    if data[:4] in (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08"):
        return _sniff_zip(data)
    for magic, image_type in _IMAGE_MAGIC:
        if data.startswith(magic):
            return image_type
    for magic, what in _BINARY_MAGIC:
        if data.startswith(magic):
            raise UnsupportedType(
                f"This file is {what}, which cannot be indexed. {_SUPPORTED_HINT}"
            )
    text = _decode_or_none(data[:_SNIFF_BYTES], partial=len(data) > _SNIFF_BYTES)
    if text is None:
        raise UnsupportedType(
            f"This file is binary data of an unrecognised kind, not text. {_SUPPORTED_HINT}"
        )
    return _sniff_text(text, filename)


def decode_text(data: bytes) -> str:
    """Decode a text upload: UTF-8 (BOM optional), then GB18030, then lenient UTF-8."""
    text = _decode_or_none(data, partial=False)
    if text is None:
        raise UnsupportedType(
            "The file is not readable text in UTF-8 or GB18030; save it as UTF-8 and upload again."
        )
    return text


def _sniff_zip(data: bytes) -> str:
    try:
        # Only the central directory is read here; nothing is decompressed.
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise CorruptFile(
            "The file looks like a ZIP/DOCX archive but its directory is damaged "
            f"({exc}); re-save it from Word and upload again."
        ) from exc
    if "word/document.xml" in names:
        return DOCX
    if "xl/workbook.xml" in names:
        what = "an Excel spreadsheet"
    elif "ppt/presentation.xml" in names:
        what = "a PowerPoint presentation"
    else:
        what = "a ZIP archive"
    raise UnsupportedType(f"This file is {what}, which cannot be indexed. {_SUPPORTED_HINT}")


def _decode_or_none(data: bytes, *, partial: bool) -> str | None:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            if not partial:
                return None
            return data[: len(data) - len(data) % 2].decode("utf-16", errors="replace")
    if b"\x00" in data:
        return None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError as exc:
            # A sniff window can cut a multi-byte character in half at its end.
            if partial and exc.start >= len(data) - 4:
                return data[: exc.start].decode(encoding)
    text = data.decode("utf-8-sig", errors="replace")
    if text.count("\ufffd") > max(1, len(text) * _BAD_BYTE_TOLERANCE):
        return None
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\n\r\x0c")
    if controls > max(1, len(text) * _BAD_BYTE_TOLERANCE):
        return None
    return text


def _sniff_text(text: str, filename: str) -> str:
    controls = sum(1 for ch in text[:8192] if ord(ch) < 32 and ch not in "\t\n\r\x0c\x1b")
    if controls > max(2, len(text[:8192]) * _BAD_BYTE_TOLERANCE):
        raise UnsupportedType(f"This file contains binary data, not text. {_SUPPORTED_HINT}")
    stripped = text.lstrip("\ufeff \t\r\n")
    lowered = stripped[:4096].lower()
    if _HTML_START.match(stripped[:4096]):
        return HTML
    if lowered.startswith(("<?xml", "<svg")) and "<html" not in lowered:
        raise UnsupportedType(f"This file is XML/SVG, which cannot be indexed. {_SUPPORTED_HINT}")
    md_score = _markdown_score(text)
    is_md_name = filename.lower().endswith((".md", ".markdown", ".mdown", ".mkd"))
    if md_score >= 1 and is_md_name:
        return MARKDOWN
    tags = len(_HTML_TAG.findall(text))
    if stripped.startswith("<") and tags >= 1:
        return HTML
    if md_score >= 3:
        return MARKDOWN
    if tags >= 3 and md_score == 0:
        return HTML
    if is_md_name:
        return MARKDOWN
    return TEXT


def _markdown_score(text: str) -> int:
    headings = len(_MD_HEADING.findall(text))
    score = min(headings, 3) * 2
    score += 1 if _MD_SETEXT.search(text) else 0
    score += 1 if len(_MD_LIST.findall(text)) >= 2 else 0
    score += 2 if _MD_FENCE.search(text) else 0
    score += 1 if _MD_LINK.search(text) else 0
    return score
