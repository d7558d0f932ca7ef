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

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "kind": self.kind,
            "heading_path": list(self.heading_path),
            "page": self.page,
            "char_start": self.char_start,
            "char_end": self.char_end,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Block:
        return cls(
            text=d["text"],
            kind=d["kind"],
            heading_path=tuple(d["heading_path"]),
            page=d["page"],
            char_start=d["char_start"],
            char_end=d["char_end"],
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

    def to_dict(self) -> dict[str, Any]:
        return {
            "media_type": self.media_type,
            "title": self.title,
            "text": self.text,
            "blocks": [b.to_dict() for b in self.blocks],
            "page_count": self.page_count,
            "language": self.language,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ParsedDocument:
        return cls(
            media_type=d["media_type"],
            title=d["title"],
            text=d["text"],
            blocks=tuple(Block.from_dict(b) for b in d["blocks"]),
            page_count=d["page_count"],
            language=d["language"],
        )


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


@dataclass(frozen=True)
class ParseLimits:
    """Resource ceilings for parsing one upload."""

    max_bytes: int = 50 * 1024 * 1024
    max_unpacked_bytes: int = 200 * 1024 * 1024
    max_zip_entries: int = 2000
    max_pages: int = 5000
    timeout_s: float = 120.0
    memory_bytes: int = 1024 * 1024 * 1024

    def to_dict(self) -> dict[str, Any]:
        return {
            "max_bytes": self.max_bytes,
            "max_unpacked_bytes": self.max_unpacked_bytes,
            "max_zip_entries": self.max_zip_entries,
            "max_pages": self.max_pages,
            "timeout_s": self.timeout_s,
            "memory_bytes": self.memory_bytes,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ParseLimits:
        return cls(**{k: d[k] for k in cls().to_dict() if k in d})
