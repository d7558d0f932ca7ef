"""HTML → blocks with BeautifulSoup on lxml. Nothing is executed or fetched.

Scripts, styles, embedded objects and anything the page hides (``hidden``,
``aria-hidden``, ``display:none``) are removed before text is read, so text a
visitor would never see cannot be smuggled into answers.
"""

from __future__ import annotations

import re

from ingestion.normalize import is_spaceless
from ingestion.parsers.assemble import RawBlock, build_document
from ingestion.sniff import HTML, decode_text
from ingestion.types import ParsedDocument, ParseLimits

_DROP = frozenset({
    "script", "style", "noscript", "template", "iframe", "object", "embed", "applet", "frame",
    "frameset", "head", "svg", "canvas", "nav", "select", "option", "button", "input",
    "textarea", "audio", "video", "source", "track", "map", "param", "link", "meta", "base",
})  # fmt: skip
_HEADINGS = {f"h{i}": i for i in range(1, 7)}
_PARAGRAPHS = frozenset({"p", "pre", "address", "figcaption", "caption", "summary", "dt", "dd"})
_CONTAINERS = frozenset({
    "html", "body", "div", "section", "article", "main", "header", "footer", "aside",
    "blockquote", "figure", "details", "center", "form", "fieldset", "legend", "li", "td", "th",
    "tr", "tbody", "thead", "tfoot", "dl", "hgroup", "search",
})  # fmt: skip
_LAYOUT_MARKERS = ["p", "div", "table", "ul", "ol", "blockquote", "pre", *_HEADINGS]
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_HIDDEN_CLASSES = frozenset({"hidden", "d-none", "hide"})
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_-]+)""", re.I)
_WS = re.compile(r"[ \t\r\n\f]+")
_MAX_DEPTH = 200
# Marks a real line break (<br>, block boundary); newlines in the source are
# plain whitespace in HTML. NUL cannot survive the parser, so it is unambiguous.
_BREAK = "\x00"


def parse_html(data: bytes, *, limits: ParseLimits) -> ParsedDocument:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(_decode_html(data), "lxml")
    title_tag = soup.find("title")
    title = title_tag.get_text(" ", strip=True) if title_tag else None
    _prune(soup)
    walker = _Walker()
    walker.walk(soup, depth=0)
    walker.flush()
    if not title:
        title = next((b.text for b in walker.blocks if b.kind == "heading" and b.level == 1), None)
    return build_document(walker.blocks, media_type=HTML, title=title)


def _decode_html(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    m = _META_CHARSET.search(data[:4096])
    if m:
        try:
            return data.decode(m.group(1).decode("ascii"))
        except (LookupError, UnicodeDecodeError):
            pass
    return decode_text(data)


def _is_hidden(tag) -> bool:
    attrs = tag.attrs or {}
    if "hidden" in attrs or str(attrs.get("aria-hidden", "")).lower() == "true":
        return True
    if str(attrs.get("type", "")).lower() == "hidden":
        return True
    classes = attrs.get("class") or []
    if isinstance(classes, str):
        classes = classes.split()
    if _HIDDEN_CLASSES.intersection(c.lower() for c in classes):
        return True
    return bool(_HIDDEN_STYLE.search(str(attrs.get("style", ""))))


def _prune(soup) -> None:
    """Remove dropped and hidden elements; both steps are iterative, so depth is harmless."""
    doomed = [t for t in soup.find_all(True) if t.name in _DROP or _is_hidden(t)]
    for tag in doomed:
        if not tag.decomposed:
            tag.decompose()


def _clean_inline(text: str) -> str:
    """Collapse HTML whitespace per line; a line break between CJK characters is no space."""
    lines = []
    for line in text.split(_BREAK):
        parts = _WS.split(line.strip())
        out = ""
        for part in parts:
            if out and part and not (is_spaceless(out[-1]) and is_spaceless(part[0])):
                out += " "
            out += part
        lines.append(out)
    return "\n".join(line for line in lines if line)


class _Walker:
    def __init__(self) -> None:
        self.blocks: list[RawBlock] = []
        self.inline: list[str] = []

    def flush(self) -> None:
        text = _clean_inline("".join(self.inline))
        self.inline.clear()
        if text:
            self.blocks.append(RawBlock("paragraph", text))

    def walk(self, el, *, depth: int) -> None:
        from bs4 import NavigableString, Tag
        from bs4.element import CData

        for child in el.children:
            if isinstance(child, NavigableString):
                if type(child) in (NavigableString, CData):
                    self.inline.append(str(child))
                continue
            if not isinstance(child, Tag):
                continue
            name = child.name
            if name == "br":
                self.inline.append(_BREAK)
            elif name == "hr":
                self.flush()
            elif name in _HEADINGS:
                self.flush()
                self.blocks.append(RawBlock("heading", _text_of(child), level=_HEADINGS[name]))
            elif name in _PARAGRAPHS:
                self.flush()
                self.blocks.append(RawBlock("paragraph", _text_of(child)))
            elif name in ("ul", "ol", "menu"):
                self.flush()
                self.blocks.append(RawBlock("list", "\n".join(_list_lines(child, 0))))
            elif name == "table" and not child.find(_LAYOUT_MARKERS):
                self.flush()
                self.blocks.append(RawBlock("table", _table_text(child)))
            elif depth >= _MAX_DEPTH:
                # Pathologically deep markup: keep the words, give up on structure.
                self.flush()
                self.blocks.append(RawBlock("paragraph", _text_of(child)))
            elif name in _CONTAINERS or name == "table":
                self.flush()
                self.walk(child, depth=depth + 1)
                self.flush()
            else:
                self.walk(child, depth=depth + 1)


def _text_of(tag) -> str:
    """Visible text of an element, with <br> and nested blocks as line breaks."""
    from bs4 import NavigableString, Tag
    from bs4.element import CData

    parts: list[str] = []
    for node in tag.descendants:
        if isinstance(node, Tag):
            if node.name == "br" or node.name in _PARAGRAPHS or node.name in _CONTAINERS:
                parts.append(_BREAK)
        elif isinstance(node, NavigableString) and type(node) in (NavigableString, CData):
            parts.append(str(node))
    if tag.name == "pre":
        text = "".join(parts).replace(_BREAK, "\n")
        return "\n".join(" ".join(line.split()) for line in text.split("\n"))
    return _clean_inline("".join(parts))


def _list_lines(lst, depth: int) -> list[str]:
    lines: list[str] = []
    ordered = lst.name == "ol"
    try:
        number = int(lst.get("start", 1))
    except (TypeError, ValueError):
        number = 1
    items = lst.find_all("li", recursive=False)
    if not items:
        return [line for line in _text_of(lst).split("\n") if line]
    for li in items:
        nested = li.find_all(["ul", "ol"], recursive=False)
        for sub in nested:
            sub.extract()
        text = _text_of(li).replace("\n", " ")
        marker = f"{number}. " if ordered else "- "
        if text:
            lines.append(marker + text)
            number += 1
        if depth < 8:
            for sub in nested:
                lines.extend(_list_lines(sub, depth + 1))
    return lines


def _table_text(table) -> str:
    rows: list[str] = []
    for tr in table.find_all("tr"):
        cells = [_text_of(c).replace("\n", " ") for c in tr.find_all(["td", "th"], recursive=False)]
        if any(cells):
            rows.append(" | ".join(cells))
    return "\n".join(rows)
