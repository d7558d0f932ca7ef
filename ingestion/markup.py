"""Reduce any block's text to plain text: the last step every format's text passes through.

Why here and not only in the HTML and Markdown parsers: uploaded text reaches readers as cited
passages (the portal pages, the API, answers that quote it), and those readers may render it as
HTML or Markdown. Markup hides in every format: a plain-text or PDF file can *say*
``<script>alert(1)</script>``, a Markdown code span keeps ``[x](javascript:alert(1))`` literal,
and HTML's ``&lt;script&gt;`` decodes to a tag. So ``strip_markup`` runs once per block in
``parsers.assemble.build_document`` (the one place every parser's blocks go through), after
Unicode clean-up so that zero-width or control characters cannot hide a tag from it:

1. ``<script>`` and ``<style>`` elements lose their content, comments go whole;
2. every other tag (``<a ...>``, ``</p>``, ``<!doctype>``, ``<?xml?>``) is removed, its text kept;
3. a Markdown link or image whose target is a script or data URL keeps only its text;
4. any remaining ``javascript:``/``vbscript:``/``data:`` URL is dropped;
5. the steps repeat until nothing changes (``<scr<b>ipt>`` becomes ``<script>`` once ``<b>``
   is gone), a bounded number of times, and then any ``<`` that could still open a tag gets a
   space after it, which an HTML parser reads as text. That last step is the guarantee: no
   output of this function contains a tag, however the input nests.

Text that merely uses ``<`` and ``>`` as comparisons ("a < b", "x<5") is left alone; "x<y and
y>z" reads as a tag to a browser too and loses "<y and y>".
"""

from __future__ import annotations

import html
import re

_RAW_OPEN = re.compile(r"<(script|style)\b|<!--", re.IGNORECASE)
# Bounded and unable to cross another "<" or ">", so matching is linear in the text.
_TAG = re.compile(r"<(?:/?[A-Za-z][^<>]{0,2000}|[!?][^<>]{0,2000})>")
_TAG_OPENER = re.compile(r"<(?=[A-Za-z/!?])")
_SCRIPT_SCHEMES = ("javascript:", "vbscript:", "livescript:", "data:")
# Markdown inline link or image; the target may hold one level of parentheses ("alert(1)").
_MD_LINK = re.compile(r"(!?)\[([^\[\]\n]{0,500})\]\(((?:[^()\n]|\([^()\n]{0,200}\)){0,2000})\)")
_SCRIPT_URL = re.compile(r"(?<![\w+.-])(?:java|vb|live)script:\S+", re.IGNORECASE)
# Media type and parameters are bounded so a long run of "data:a/b;" cannot make every
# occurrence rescan the rest of the text.
_DATA_URL = re.compile(
    r"(?<![\w+.-])data:(?:[\w.+-]{1,100}/[\w.+-]{1,100})?(?:;[^\s,;]{1,200}){0,10},\S*",
    re.IGNORECASE,
)
_URL_NOISE = re.compile(r"[\x00-\x20\x7f]+")
_MAX_PASSES = 4


def drop_raw_elements(text: str) -> str:
    """Remove ``<script>``/``<style>`` elements with their content, and comments, in one linear
    pass; an unclosed one runs to the end of the text, as it would in a browser."""
    lower = text.lower()
    out: list[str] = []
    pos = 0
    while (m := _RAW_OPEN.search(lower, pos)) is not None:
        out.append(text[pos : m.start()])
        closer = "-->" if m.group(0) == "<!--" else f"</{m.group(1).lower()}"
        end = lower.find(closer, m.end())
        if end == -1:
            return "".join(out)
        pos = end + len(closer)
        if closer != "-->":
            gt = lower.find(">", pos)
            pos = len(text) if gt == -1 else gt + 1
    out.append(text[pos:])
    return "".join(out)


def is_script_url(url: str) -> bool:
    """True for a URL a browser would run or render inline: its scheme is read the way a Markdown
    renderer and a browser would, after entity decoding and with whitespace/controls removed."""
    cleaned = _URL_NOISE.sub("", html.unescape(url)).strip("<>").lower()
    return cleaned.startswith(_SCRIPT_SCHEMES)


def _link(m: re.Match[str]) -> str:
    label, target = m.group(2), m.group(3)
    return label if is_script_url(target) else m.group(0)


def _one_pass(text: str) -> str:
    text = drop_raw_elements(text)
    text = _TAG.sub("", text)
    text = _MD_LINK.sub(_link, text)
    text = _SCRIPT_URL.sub("", text)
    return _DATA_URL.sub("", text)


def strip_markup(text: str) -> str:
    """``text`` without tags, script/style content or script/data URLs (see the module doc)."""
    if "<" not in text and ":" not in text:
        return text
    for _ in range(_MAX_PASSES):
        stripped = _one_pass(text)
        if stripped == text:
            break
        text = stripped
    return _TAG_OPENER.sub("< ", text)
