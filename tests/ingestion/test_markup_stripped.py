"""Whatever the format, parsed text is plain text: no tags, no script/style content, no script or
data URLs, so a passage quoted on a page or returned by the API cannot carry markup
(ingestion/markup.py, applied to every block in parsers/assemble.py)."""

from __future__ import annotations

import io
import re

import pytest

from ingestion.markup import strip_markup
from ingestion.parsers import parse_bytes
from ingestion.sniff import DOCX, HTML, MARKDOWN, TEXT

# Anything that would open a tag, or a URL a browser or Markdown renderer would run.
_MARKUP = re.compile(r"<[A-Za-z/!?]|javascript:|vbscript:|data:[\w.+-]*/|\]\(", re.IGNORECASE)

HOSTILE_LINES = (
    "A residential parking permit costs $40 a year.<script>alert(1)</script>",
    'Apply <a href="javascript:alert(2)" onclick="alert(3)">online</a> within 30 days.',
    "See [the permit form](javascript:alert(4)) for details.",
    "The map is ![the zone map](data:text/html;base64,PHNjcmlwdD4=) here.",
    "Old link: javascript:alert(5) is gone.",
    "<style>p { color: red }</style>Fees are not refunded.",
)


def _assert_plain(doc) -> None:
    for text in [doc.text, doc.title or "", *(b.text for b in doc.blocks)]:
        assert not _MARKUP.search(text), text
    for word in ("alert", "color: red", "PHNjcmlwdD4"):
        assert word not in doc.text


def _assert_reader_text_kept(doc) -> None:
    assert "A residential parking permit costs $40 a year." in doc.text
    assert "Apply online within 30 days." in doc.text
    assert "See the permit form for details." in doc.text
    assert "The map is the zone map here." in doc.text
    assert "Fees are not refunded." in doc.text


def test_plain_text_that_spells_out_markup_becomes_plain_text():
    data = "\n\n".join(HOSTILE_LINES).encode()
    doc = parse_bytes(data, filename="permits.txt")
    assert doc.media_type == TEXT
    _assert_plain(doc)
    _assert_reader_text_kept(doc)


def test_markdown_raw_html_links_and_code_spans_become_plain_text():
    data = (
        "# Permits <img src=x onerror=alert(6)>\n\n"
        + "\n\n".join(HOSTILE_LINES)
        + "\n\nLiteral code: `<script>alert(7)</script>` and `[x](javascript:alert(8))`.\n\n"
        '```\n<iframe src="javascript:alert(9)"></iframe>\n```\n'
    ).encode()
    doc = parse_bytes(data, filename="permits.md")
    assert doc.media_type == MARKDOWN
    _assert_plain(doc)
    _assert_reader_text_kept(doc)
    assert doc.title == "Permits"
    assert "Literal code:" in doc.text


def test_html_entities_that_decode_to_markup_become_plain_text():
    # The HTML parser drops real <script> elements; escaped markup decodes to text that reads as
    # markup, and a link's javascript: target must not surface either.
    data = (
        b"<html><head><title>Permits &lt;b&gt;2024&lt;/b&gt;</title></head><body>"
        b"<p>A residential parking permit costs $40 a year."
        b"&lt;script&gt;alert(1)&lt;/script&gt;</p>"
        b'<p>Apply <a href="javascript:alert(2)">online</a> within 30 days.</p>'
        b"<p>See [the permit form](javascript:alert(4)) for details.</p>"
        b"<p>The map is ![the zone map](data:text/html;base64,PHNjcmlwdD4=) here.</p>"
        b"<p>&lt;style&gt;p { color: red }&lt;/style&gt;Fees are not refunded.</p>"
        b"</body></html>"
    )
    doc = parse_bytes(data, filename="permits.html")
    assert doc.media_type == HTML
    _assert_plain(doc)
    _assert_reader_text_kept(doc)
    assert doc.title == "Permits 2024"


def test_docx_paragraphs_that_spell_out_markup_become_plain_text():
    docx = pytest.importorskip("docx")
    document = docx.Document()
    for line in HOSTILE_LINES:
        document.add_paragraph(line)
    buffer = io.BytesIO()
    document.save(buffer)
    doc = parse_bytes(buffer.getvalue(), filename="permits.docx")
    assert doc.media_type == DOCX
    _assert_plain(doc)
    _assert_reader_text_kept(doc)


def test_offsets_still_point_at_the_stripped_text():
    doc = parse_bytes("\n\n".join(HOSTILE_LINES).encode(), filename="permits.txt")
    for block in doc.blocks:
        assert doc.text[block.char_start : block.char_end] == block.text


@pytest.mark.parametrize(
    "text",
    [
        "Income < 20000 and age >= 65; x<5 and 3 > 2.",
        "JavaScript: a language. Personal data: name, address.",
        "Read [the guide](https://example.org/guide) first.",
        "城乡居民基本医疗保险按年度缴费《条例》第三条。",
    ],
)
def test_text_without_markup_is_unchanged(text):
    assert strip_markup(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "<scr<b>ipt>alert(1)</script>",
        "<<img src=x onerror=alert(1)>img src=x onerror=alert(1)>",
        "<img src=x onerror=alert(1)",
        "[x](JaVa&#x53;cript:alert(1))",
        "[x](<javascript:alert(1)>)",
        "<!-- a --!> <svg/onload=alert(1)>",
    ],
)
def test_nested_or_obfuscated_markup_cannot_survive(text):
    out = strip_markup(text)
    assert not re.search(r"<[A-Za-z/!?]|javascript:", out, re.IGNORECASE), out
