"""Refuse a file whose extension and content name different formats.

The content still decides how a file is parsed (``ingestion.sniff``); this check only refuses
the contradictions, because an HTML page saved as ``.docx`` or a Word file renamed ``.pdf`` is
usually the wrong file, or a disguised one, and the uploader should hear so rather than see it
indexed as something else. Formats that are all decoded text (HTML, Markdown, plain text) do not
contradict each other: a ``.txt`` export of a web page is still read as HTML. The image formats do
not contradict each other either: a PNG saved as ``.jpg`` is read by OCR all the same. A name
without a known extension declares nothing.
"""

from __future__ import annotations

from pathlib import PurePath

from ingestion.errors import TypeMismatch
from ingestion.sniff import DOCX, HTML, IMAGE_TYPES, JPEG, MARKDOWN, PDF, PNG, TEXT, TIFF

_DECLARED = {
    ".pdf": PDF,
    ".docx": DOCX,
    ".html": HTML,
    ".htm": HTML,
    ".xhtml": HTML,
    ".md": MARKDOWN,
    ".markdown": MARKDOWN,
    ".mdown": MARKDOWN,
    ".mkd": MARKDOWN,
    ".txt": TEXT,
    ".text": TEXT,
    ".png": PNG,
    ".jpg": JPEG,
    ".jpeg": JPEG,
    ".jpe": JPEG,
    ".tif": TIFF,
    ".tiff": TIFF,
}
_TEXT_FAMILY = frozenset({HTML, MARKDOWN, TEXT})
_NAMES = {
    PDF: "a PDF document",
    DOCX: "a Word (DOCX) document",
    HTML: "HTML",
    MARKDOWN: "Markdown text",
    TEXT: "plain text",
    PNG: "a PNG image",
    JPEG: "a JPEG image",
    TIFF: "a TIFF image",
}


def _family(media_type: str) -> str:
    if media_type in _TEXT_FAMILY:
        return "text"
    if media_type in IMAGE_TYPES:
        return "image"
    return media_type


def declared_type(filename: str) -> str | None:
    """The media type the file name's extension declares, or None when it declares none."""
    return _DECLARED.get(PurePath(filename).suffix.lower()) if filename else None


def check_declared_type(media_type: str, filename: str) -> None:
    """Raise TypeMismatch, naming both, when ``filename`` declares a format the content is not."""
    declared = declared_type(filename)
    if declared is None or _family(declared) == _family(media_type):
        return
    extension = PurePath(filename).suffix.lower()
    what = _NAMES.get(media_type, media_type)
    raise TypeMismatch(
        f"The file is named {extension} but its content is {what}, not "
        f"{_NAMES.get(declared, declared)}. Upload the right file, or save it with the "
        "extension of what it really is, and upload it again."
    )
