"""Markdown → blocks with a small line-based reader.

Only the structure that matters for retrieval is recognised (ATX and setext
headings, paragraphs, lists, fenced code, block quotes, pipe tables); inline
syntax is stripped to the text a reader would see, keeping link text.
"""

from __future__ import annotations

import re

from ingestion.markup import drop_raw_elements
from ingestion.normalize import join_lines
from ingestion.parsers.assemble import RawBlock, build_document
from ingestion.sniff import MARKDOWN, decode_text
from ingestion.types import ParsedDocument, ParseLimits

_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_HR = re.compile(r"^ {0,3}(?:(?:\*[ \t]*){3,}|(?:-[ \t]*){3,}|(?:_[ \t]*){3,})$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_LIST_ITEM = re.compile(r"^( {0,3})([-*+]|\d{1,9}[.)])(?:[ \t]+(.*))?$")
_NESTED_ITEM = re.compile(r"^[ \t]+([-*+]|\d{1,9}[.)])[ \t]+(.*)$")
_QUOTE = re.compile(r"^ {0,3}> ?")
_REF_DEF = re.compile(r"^ {0,3}\[[^\]]+\]:\s*\S+")
_TABLE_SEP = re.compile(r"^ *\|? *:?-+:? *(?:\| *:?-+:? *)*\|? *$")

_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~<])")
# Repetitions are bounded and stop at the next opener, so an unclosed "[" or
# "**" cannot make a rule rescan a huge paragraph from every opener.
_BOLD = (re.compile(r"(\*\*|__)(?=[^\s*_])([^*_\n]{1,500}?)(?<=\S)\1"), r"\2")
_CODE_SPAN = re.compile(r"`{1,3}([^`\n]{1,1000}?)`{1,3}")
_INLINE_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"!\[([^\[\]\n]{0,500})\]\([^()\n]{0,2000}\)"), r"\1"),
    (re.compile(r"\[\^[^\[\]\n]{1,100}\]"), ""),
    (re.compile(r"\[([^\[\]\n]{1,500})\]\([^()\n]{0,2000}\)"), r"\1"),
    (re.compile(r"\[([^\[\]\n]{1,500})\]\[[^\[\]\n]{0,100}\]"), r"\1"),
    (re.compile(r"<((?:https?|mailto):[^<>\s]{1,2000})>"), r"\1"),
    (re.compile(r"</?[A-Za-z][A-Za-z0-9-]{0,30}(?:\s[^<>]{0,1000})?/?>"), ""),
    _BOLD,
    (re.compile(r"\*(?=[^\s*])([^*\n]{1,500}?)(?<=\S)\*"), r"\1"),
    (re.compile(r"(?<![\w\\])_(?=[^\s_])([^_\n]{1,500}?)(?<=\S)_(?!\w)"), r"\1"),
    # Bold around italic ("**a *b* c**") only matches once the italic is gone.
    _BOLD,
    (re.compile(r"~~(?=[^\s~])([^~\n]{1,500}?)(?<=\S)~~"), r"\1"),
)
# Escaped characters are parked in the Private Use Area so that emphasis rules
# cannot consume them, then restored.
_PUA = 0xF0000


def _park(chars: str) -> str:
    return "".join(chr(_PUA + ord(c)) if ord(c) < 0x100 else c for c in chars)


def strip_inline(text: str) -> str:
    """Markdown inline syntax to the text a reader sees; link text is kept."""
    text = drop_raw_elements(text)
    # Code is literal: park its characters so no later rule touches them.
    text = _CODE_SPAN.sub(lambda m: _park(m.group(1)), text)
    text = _ESCAPE.sub(lambda m: _park(m.group(1)), text)
    for pattern, repl in _INLINE_RULES:
        text = pattern.sub(repl, text)
    return re.sub(r"[\U000f0000-\U000f00ff]", lambda m: chr(ord(m.group(0)) - _PUA), text)


def parse_markdown(data: bytes, *, limits: ParseLimits) -> ParsedDocument:
    lines = decode_text(data).replace("\r\n", "\n").replace("\r", "\n").split("\n")
    blocks = _Reader(lines).read()
    title = next((b.text for b in blocks if b.kind == "heading" and b.level == 1), None)
    return build_document(blocks, media_type=MARKDOWN, title=strip_inline(title) if title else None)


class _Reader:
    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.i = 0
        self.blocks: list[RawBlock] = []
        self.para: list[str] = []

    def flush(self) -> None:
        if self.para:
            self.blocks.append(RawBlock("paragraph", strip_inline(join_lines(self.para))))
            self.para = []

    def read(self) -> list[RawBlock]:
        while self.i < len(self.lines):
            line = self.lines[self.i]
            quote = _QUOTE.match(line)
            if quote:
                line = line[quote.end() :]
            self._line(line)
        self.flush()
        return self.blocks

    def _line(self, line: str) -> None:
        if not line.strip():
            self.flush()
            self.i += 1
            return
        fence = _FENCE.match(line)
        if fence:
            self.flush()
            self._fenced(fence.group(1))
            return
        atx = _ATX.match(line)
        if atx:
            self.flush()
            text = strip_inline((atx.group(2) or "").strip())
            self.blocks.append(RawBlock("heading", text, level=len(atx.group(1))))
            self.i += 1
            return
        setext = _SETEXT.match(line)
        if setext and self.para:
            text = strip_inline(join_lines(self.para))
            self.para = []
            level = 1 if setext.group(1).startswith("=") else 2
            self.blocks.append(RawBlock("heading", text, level=level))
            self.i += 1
            return
        if _HR.match(line) or _REF_DEF.match(line):
            self.flush()
            self.i += 1
            return
        if not self.para and "|" in line and self._is_table_start():
            self._table()
            return
        if _LIST_ITEM.match(line) and (not self.para or _LIST_ITEM.match(line).group(3)):
            self.flush()
            self._list()
            return
        self.para.append(line)
        self.i += 1

    def _fenced(self, marker: str) -> None:
        self.i += 1
        code: list[str] = []
        while self.i < len(self.lines):
            line = self.lines[self.i]
            self.i += 1
            if (
                line.strip().startswith(marker[0] * len(marker))
                and not line.strip(marker[0]).strip()
            ):
                break
            code.append(line)
        if any(c.strip() for c in code):
            self.blocks.append(RawBlock("paragraph", "\n".join(code)))

    def _is_table_start(self) -> bool:
        nxt = self.lines[self.i + 1] if self.i + 1 < len(self.lines) else ""
        return "-" in nxt and bool(_TABLE_SEP.match(nxt))

    def _table(self) -> None:
        rows: list[str] = []
        header = self.lines[self.i]
        self.i += 2
        body = [header]
        while self.i < len(self.lines) and "|" in self.lines[self.i] and self.lines[self.i].strip():
            body.append(self.lines[self.i])
            self.i += 1
        for row in body:
            cells = re.split(r"(?<!\\)\|", row.strip().strip("|"))
            texts = [strip_inline(c.strip()) for c in cells]
            if any(texts):
                rows.append(" | ".join(texts))
        self.blocks.append(RawBlock("table", "\n".join(rows)))

    def _list(self) -> None:
        items: list[list[str]] = []
        while self.i < len(self.lines):
            line = self.lines[self.i]
            top = _LIST_ITEM.match(line)
            nested = _NESTED_ITEM.match(line)
            if top or nested:
                marker, rest = (top.group(2), top.group(3)) if top else nested.groups()
                bullet = "- " if marker in "-*+" else marker.rstrip(")").rstrip(".") + ". "
                items.append([bullet + (rest or "")])
            elif line.strip() and (line[:1] in " \t" or not self._starts_block(line)):
                items[-1].append(line)
            elif not line.strip():
                nxt = self._list_resumes_at()
                if nxt is None:
                    break
                self.i = nxt
                continue
            else:
                break
            self.i += 1
        text = "\n".join(strip_inline(join_lines(item)) for item in items)
        self.blocks.append(RawBlock("list", text))

    def _starts_block(self, line: str) -> bool:
        return bool(_ATX.match(line) or _FENCE.match(line) or _HR.match(line) or _QUOTE.match(line))

    def _list_resumes_at(self) -> int | None:
        """Index of the line the list continues on after blank lines, or None if it ended."""
        j = self.i + 1
        while j < len(self.lines) and not self.lines[j].strip():
            j += 1
        if j >= len(self.lines):
            return None
        nxt = self.lines[j]
        if _LIST_ITEM.match(nxt) or _NESTED_ITEM.match(nxt) or nxt[:2] in ("  ", "\t"):
            return j
        return None
