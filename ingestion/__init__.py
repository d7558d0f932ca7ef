"""Turn untrusted uploaded files into structured text and retrieval chunks.

Pipeline: ``sniff`` decides the real media type from the bytes, ``parsers`` turn
PDF/DOCX/HTML/Markdown/plain text into a ``ParsedDocument`` of typed blocks with
heading paths, page numbers and character offsets, and ``chunking`` packs those
blocks into overlapping ``ChunkDraft`` spans of the normalized text.

``sandbox.parse_file_isolated`` is the entry point for uploads: it runs the parsers
in a child interpreter with memory, CPU and wall-clock limits, so a hostile file
can at worst kill that child. Nothing here imports Django.
"""

from ingestion.errors import IngestionError
from ingestion.types import Block, ChunkDraft, ParsedDocument, ParseLimits

__all__ = ["Block", "ChunkDraft", "IngestionError", "ParseLimits", "ParsedDocument"]
