"""A document's own title (issue 23): declared titles unless they are placeholders, else the
first top-level heading on the first page; numbered section headings never."""

from __future__ import annotations

import io

import pytest
from fpdf import FPDF

from ingestion.parsers import parse_bytes
from ingestion.titles import clean_title
from tests.ingestion import factories


@pytest.mark.parametrize(
    "placeholder",
    [
        "Untitled",
        "untitled document",
        "Untitled-1",
        "Document1",
        "Microsoft Word - riverton_parking_permit.docx",
        "riverton parking permit.pdf",
        "C:\\Users\\clerk\\Desktop\\permit",
        "无标题",
        "  ",
        "1.",
    ],
)
def test_placeholders_are_not_titles(placeholder):
    assert clean_title(placeholder) is None


def test_a_real_title_is_kept_on_one_line():
    assert clean_title("Riverton\n  Parking Permits ") == "Riverton Parking Permits"
    assert clean_title("居民身份证法") == "居民身份证法"


def _pdf(*, metadata_title: str | None) -> bytes:
    """A 20pt unnumbered title line, a numbered 14pt section, then body text."""
    pdf = FPDF()
    if metadata_title:
        pdf.set_title(metadata_title)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 20)
    pdf.cell(0, 12, "Riverton Parking Permits", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(0, 10, "1 Who may apply", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 11)
    pdf.multi_cell(0, 5, factories.LOREM * 4, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def test_pdf_placeholder_metadata_gives_way_to_the_first_heading():
    doc = parse_bytes(_pdf(metadata_title="Microsoft Word - permits.docx"), filename="p.pdf")
    assert doc.title == "Riverton Parking Permits"


def test_pdf_without_metadata_title_takes_its_first_heading():
    assert parse_bytes(_pdf(metadata_title=None), filename="p.pdf").title == (
        "Riverton Parking Permits"
    )


def test_pdf_metadata_title_wins_over_the_heading():
    doc = parse_bytes(_pdf(metadata_title="Parking Permit Rules 2025"), filename="p.pdf")
    assert doc.title == "Parking Permit Rules 2025"


def test_pdf_whose_only_headings_are_numbered_has_no_title():
    # "1 Chapter 1" names a section, not the document.
    doc = parse_bytes(factories.pdf_with_sections(pages=1, title="Untitled"), filename="g.pdf")
    assert doc.title is None


def test_docx_placeholder_core_title_gives_way_to_the_title_paragraph():
    data = factories.docx_with_headings_and_table(core_title="Document1")
    assert parse_bytes(data, filename="rules.docx").title == "Medicine Subsidy Rules"


def test_docx_without_title_style_takes_its_first_heading():
    import docx

    document = docx.Document()
    document.add_heading("Winter Fuel Payment", level=1)
    document.add_paragraph("Paid to households over pension age between November and December.")
    buf = io.BytesIO()
    document.save(buf)
    assert parse_bytes(buf.getvalue(), filename="w.docx").title == "Winter Fuel Payment"


def test_html_placeholder_title_gives_way_to_the_h1():
    page = (
        b"<html><head><title>Untitled</title></head><body><h2>Section</h2>"
        b"<h1>Parking permits</h1><p>Apply at city hall.</p></body></html>"
    )
    assert parse_bytes(page, filename="p.html").title == "Parking permits"


def test_markdown_takes_its_first_hash_heading_not_a_lower_one():
    text = b"## Overview\n\nSome text.\n\n# Riverton Parking Permits\n\nMore text."
    assert parse_bytes(text, filename="p.md").title == "Riverton Parking Permits"
    assert parse_bytes(b"## Overview\n\nSome text here.", filename="o.md").title is None
