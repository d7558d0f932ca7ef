"""In-process parsing of one upload: ``parse_bytes``.

Use ``ingestion.sandbox.parse_file_isolated`` for untrusted files; this module
is what runs inside that sandbox (and in tests).
"""

from __future__ import annotations

from collections.abc import Callable

from ingestion.declared import check_declared_type
from ingestion.errors import CorruptFile, EmptyFile, FileTooLarge, IngestionError, human_size
from ingestion.sniff import (
    DOCX,
    HTML,
    IMAGE_TYPES,
    JPEG,
    MARKDOWN,
    PDF,
    PNG,
    TEXT,
    TIFF,
    detect_media_type,
)
from ingestion.types import ParsedDocument, ParseLimits

_DEFAULT_LIMITS = ParseLimits()
_KIND_NAMES = {
    PDF: "PDF",
    DOCX: "DOCX",
    HTML: "HTML",
    MARKDOWN: "Markdown",
    TEXT: "text",
    PNG: "PNG",
    JPEG: "JPEG",
    TIFF: "TIFF",
}


def _parser_for(media_type: str) -> Callable[..., ParsedDocument]:
    # Imported lazily so the sandbox child only loads PDFium for PDFs, lxml for
    # HTML/DOCX, and so on.
    if media_type == PDF:
        from ingestion.parsers.pdf import parse_pdf

        return parse_pdf
    if media_type == DOCX:
        from ingestion.parsers.docx import parse_docx

        return parse_docx
    if media_type == HTML:
        from ingestion.parsers.html import parse_html

        return parse_html
    if media_type in IMAGE_TYPES:
        from functools import partial

        from ingestion.ocr import parse_image

        return partial(parse_image, media_type=media_type)
    if media_type == MARKDOWN:
        from ingestion.parsers.markdown import parse_markdown

        return parse_markdown
    from ingestion.parsers.text import parse_text

    return parse_text


def parse_bytes(
    data: bytes, *, filename: str = "", limits: ParseLimits = _DEFAULT_LIMITS
) -> ParsedDocument:
    """Parse an upload whose type is decided from its content.

    Raises an ``IngestionError`` subclass whose message tells the uploader what
    is wrong; anything unexpected from a third-party parser is reported as a
    corrupt file, since a well-formed file should not trip it.
    """
    if len(data) > limits.max_bytes:
        raise FileTooLarge(
            f"The file is {human_size(len(data))}; the limit is {human_size(limits.max_bytes)}. "
            "Split it into smaller files or remove embedded images, then upload again."
        )
    if not data:
        raise EmptyFile("The file is empty (0 bytes); check the upload and try again.")
    media_type = detect_media_type(data, filename=filename)
    check_declared_type(media_type, filename)  # an HTML page named .docx is refused, not parsed
    kind = _KIND_NAMES[media_type]
    try:
        doc = _parser_for(media_type)(data, limits=limits)
    except (IngestionError, MemoryError):
        raise
    except RecursionError as exc:
        raise CorruptFile(
            f"The {kind} file is nested too deeply to read; re-save it and upload again."
        ) from exc
    except Exception as exc:
        detail = f"{type(exc).__name__}: {exc}"[:200]
        raise CorruptFile(
            f"The {kind} file could not be read ({detail}); it may be damaged. "
            "Re-save or re-export it and upload again."
        ) from exc
    if not doc.blocks:
        raise EmptyFile(
            f"The {kind} file contains no readable text; check that it is the right "
            "file and that its content is not only images."
        )
    return doc
