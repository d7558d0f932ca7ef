"""Value types shared by the parsers, the chunker and the sandbox.

Everything is frozen and JSON round-trippable because documents cross a process
boundary (the sandbox child prints them as JSON) and get stored by callers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

BLOCK_KINDS = ("heading", "paragraph", "list", "table")


@dataclass(frozen=True)
class Block:
    """One structural unit of a parsed document."""

    text: str
    kind: str
    heading_path: tuple[str, ...]
    page: int | None
    char_start: int
    char_end: int
    #: Mean OCR word confidence (0..1) when the block was read from a scanned page, else None.
    ocr_confidence: float | None = None

    def to_dict(self) -> dict[str, Any]:
        d = {
            "text": self.text,
            "kind": self.kind,
            "heading_path": list(self.heading_path),
            "page": self.page,
            "char_start": self.char_start,
            "char_end": self.char_end,
        }
        # Only OCR'd blocks carry the key, so stored text-layer documents stay as they were.
        if self.ocr_confidence is not None:
            d["ocr_confidence"] = self.ocr_confidence
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Block:
        return cls(
            text=d["text"],
            kind=d["kind"],
            heading_path=tuple(d["heading_path"]),
            page=d["page"],
            char_start=d["char_start"],
            char_end=d["char_end"],
            ocr_confidence=d.get("ocr_confidence"),
        )


@dataclass(frozen=True)
class OcrPage:
    """One page whose text came from OCR rather than a text layer."""

    page: int
    #: Mean word confidence over the page, 0..1 (Tesseract's 0-100 scaled), weighted by length.
    confidence: float
    chars: int  # characters read (spaces not counted)
    seconds: float  # wall time of its Tesseract run, shared among the pages of the run

    def to_dict(self) -> dict[str, Any]:
        return {
            "page": self.page,
            "confidence": self.confidence,
            "chars": self.chars,
            "seconds": self.seconds,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> OcrPage:
        return cls(
            page=d["page"], confidence=d["confidence"], chars=d["chars"], seconds=d["seconds"]
        )


@dataclass(frozen=True)
class ParsedDocument:
    """Normalized text of one file plus the blocks it is made of.

    ``text`` is the block texts joined with a blank line, and every block's
    offsets point into it, so chunks can cite exact spans.
    """

    media_type: str
    title: str | None
    text: str
    blocks: tuple[Block, ...]
    page_count: int | None
    language: str
    #: The pages read by OCR (scanned PDF pages, image pages), in page order.
    ocr_pages: tuple[OcrPage, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        d = {
            "media_type": self.media_type,
            "title": self.title,
            "text": self.text,
            "blocks": [b.to_dict() for b in self.blocks],
            "page_count": self.page_count,
            "language": self.language,
        }
        if self.ocr_pages:
            d["ocr_pages"] = [p.to_dict() for p in self.ocr_pages]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ParsedDocument:
        return cls(
            media_type=d["media_type"],
            title=d["title"],
            text=d["text"],
            blocks=tuple(Block.from_dict(b) for b in d["blocks"]),
            page_count=d["page_count"],
            language=d["language"],
            ocr_pages=tuple(OcrPage.from_dict(p) for p in d.get("ocr_pages", ())),
        )

    @property
    def ocr_confidence(self) -> float | None:
        """Mean confidence over the OCR'd pages, weighted by their characters; None without
        OCR."""
        chars = sum(p.chars for p in self.ocr_pages)
        if not chars:
            return None
        return round(sum(p.confidence * p.chars for p in self.ocr_pages) / chars, 4)


@dataclass(frozen=True)
class ChunkDraft:
    """A span of ``ParsedDocument.text`` ready to embed; ``text`` equals that span."""

    position: int
    text: str
    heading_path: tuple[str, ...]
    page_start: int | None
    page_end: int | None
    char_start: int
    char_end: int
    #: The lowest OCR confidence of the blocks it covers (a passage is as trustworthy as its
    #: worst-read part); None when none of them was OCR'd.
    ocr_confidence: float | None = None


@dataclass(frozen=True)
class ParseLimits:
    """Resource ceilings for parsing one upload, and how scanned pages are read (OCR): the
    sandbox child receives only this, so the OCR settings travel with the limits."""

    max_bytes: int = 50 * 1024 * 1024
    max_unpacked_bytes: int = 200 * 1024 * 1024
    max_zip_entries: int = 2000
    max_pages: int = 5000
    timeout_s: float = 120.0
    memory_bytes: int = 1024 * 1024 * 1024
    ocr: bool = True
    ocr_languages: str = "chi_sim+eng"
    ocr_min_text_chars: int = 20
    ocr_page_timeout_s: float = 60.0
    ocr_workers: int = 2
    ocr_dpi: int = 250

    def to_dict(self) -> dict[str, Any]:
        return {
            "max_bytes": self.max_bytes,
            "max_unpacked_bytes": self.max_unpacked_bytes,
            "max_zip_entries": self.max_zip_entries,
            "max_pages": self.max_pages,
            "timeout_s": self.timeout_s,
            "memory_bytes": self.memory_bytes,
            "ocr": self.ocr,
            "ocr_languages": self.ocr_languages,
            "ocr_min_text_chars": self.ocr_min_text_chars,
            "ocr_page_timeout_s": self.ocr_page_timeout_s,
            "ocr_workers": self.ocr_workers,
            "ocr_dpi": self.ocr_dpi,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ParseLimits:
        return cls(**{k: d[k] for k in cls().to_dict() if k in d})
