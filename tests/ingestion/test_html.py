from __future__ import annotations

import pytest

from ingestion.errors import EmptyFile, TypeMismatch
from ingestion.parsers import parse_bytes
from ingestion.sniff import HTML

PAGE = """<!DOCTYPE html>
<html><head><title>Clinic Opening Hours</title>
<style>body { color: red }</style>
<script>document.write("INJECTED-BY-SCRIPT")</script>
</head>
<body>
<nav><a href="/">Home</a> | <a href="/menu">MENU-LINK</a></nav>
<script>alert(1)</script>
<noscript>Enable JavaScript NOSCRIPT-TEXT</noscript>
<h1>Opening hours</h1>
<p>The clinic is open <b>Monday</b> to Friday.<br>Closed on public holidays.</p>
<div hidden>HIDDEN-ATTR secret</div>
<p style="display: none">HIDDEN-STYLE secret</p>
<span aria-hidden="true">HIDDEN-ARIA</span>
<h2>Vaccinations</h2>
<ul><li>Influenza</li><li>COVID-19 <ul><li>Booster</li></ul></li></ul>
<ol start="3"><li>Bring your card</li><li>Arrive early</li></ol>
<table><tr><th>Day</th><th>Hours</th></tr><tr><td>Mon</td><td>8-17</td></tr></table>
<iframe src="https://evil.example/">IFRAME-TEXT</iframe>
<template><p>TEMPLATE-TEXT</p></template>
<h2>Contact</h2>
<div>Call 555-0100 or <a href="mailto:x@example.org">write to us</a>.</div>
<!-- COMMENT-TEXT -->
</body></html>
"""


def test_html_structure_and_no_scripts_or_hidden_text():
    doc = parse_bytes(PAGE.encode(), filename="hours.html")

    assert doc.media_type == HTML
    assert doc.title == "Clinic Opening Hours"
    for banned in (
        "alert(1)",
        "INJECTED-BY-SCRIPT",
        "color: red",
        "NOSCRIPT-TEXT",
        "HIDDEN-ATTR",
        "HIDDEN-STYLE",
        "HIDDEN-ARIA",
        "IFRAME-TEXT",
        "TEMPLATE-TEXT",
        "COMMENT-TEXT",
        "MENU-LINK",
    ):
        assert banned not in doc.text
    blocks = [(b.kind, b.text, b.heading_path) for b in doc.blocks]
    assert blocks == [
        ("heading", "Opening hours", ("Opening hours",)),
        (
            "paragraph",
            "The clinic is open Monday to Friday.\nClosed on public holidays.",
            ("Opening hours",),
        ),
        ("heading", "Vaccinations", ("Opening hours", "Vaccinations")),
        ("list", "- Influenza\n- COVID-19\n- Booster", ("Opening hours", "Vaccinations")),
        ("list", "3. Bring your card\n4. Arrive early", ("Opening hours", "Vaccinations")),
        ("table", "Day | Hours\nMon | 8-17", ("Opening hours", "Vaccinations")),
        ("heading", "Contact", ("Opening hours", "Contact")),
        ("paragraph", "Call 555-0100 or write to us.", ("Opening hours", "Contact")),
    ]


def test_html_named_pdf_is_refused_not_parsed_as_html():
    # Issue 23: the declared type and the content disagree, so the uploader is told
    # (tests/ingestion/test_declared_type.py); the same bytes named .html parse as before.
    data = b"<html><body><h1>Notice</h1><p>Not a PDF at all.</p></body></html>"
    with pytest.raises(TypeMismatch, match=r"named \.pdf but its content is HTML"):
        parse_bytes(data, filename="report.pdf")
    doc = parse_bytes(data, filename="report.html")
    assert doc.media_type == HTML
    assert doc.title == "Notice"
    assert doc.text == "Notice\n\nNot a PDF at all."


def test_chinese_html_joins_source_line_breaks_without_spaces():
    data = "<p>城乡居民基本医疗保险\n按年度缴费。</p>".encode("gb18030")
    doc = parse_bytes(data, filename="zh.html")
    assert doc.text == "城乡居民基本医疗保险按年度缴费。"
    assert doc.language == "zh"


def test_layout_table_is_read_as_content():
    data = (
        b"<html><body><table><tr><td><h1>Policy</h1><p>First paragraph.</p>"
        b"<p>Second paragraph.</p></td></tr></table></body></html>"
    )
    doc = parse_bytes(data)
    assert [b.kind for b in doc.blocks] == ["heading", "paragraph", "paragraph"]


def test_html_with_only_scripts_is_empty():
    with pytest.raises(EmptyFile) as info:
        parse_bytes(b"<html><body><script>var a = 1;</script></body></html>")
    assert "no readable text" in str(info.value)


def test_deeply_nested_html_does_not_crash():
    data = ("<html><body>" + "<div>" * 5000 + "deep text" + "</div>" * 5000).encode()
    doc = parse_bytes(data)
    assert "deep text" in doc.text
