"""A file whose extension contradicts its content is refused with both named (issue 23)."""

from __future__ import annotations

import pytest

from ingestion.declared import check_declared_type
from ingestion.errors import TypeMismatch, UnsupportedType
from ingestion.parsers import parse_bytes
from ingestion.sniff import HTML, JPEG, MARKDOWN, PDF, PNG, TEXT
from tests.ingestion import factories

PAGE = b"<!doctype html><html><body><h1>Notice</h1><p>Not a Word file.</p></body></html>"


def test_html_named_docx_is_refused_naming_both():
    with pytest.raises(TypeMismatch) as info:
        parse_bytes(PAGE, filename="notice.docx")
    message = str(info.value)
    assert "named .docx" in message and "content is HTML" in message
    assert info.value.code == "type_mismatch"
    assert isinstance(info.value, UnsupportedType)  # callers branching on the family still do


@pytest.mark.parametrize(
    ("data", "filename", "says"),
    [
        (factories.docx_with_headings_and_table(), "rules.pdf", "Word (DOCX)"),
        (factories.pdf_with_sections(pages=1), "guide.html", "a PDF document"),
        (PAGE, "scan.png", "HTML"),
    ],
)
def test_binary_and_text_formats_do_not_pass_for_each_other(data, filename, says):
    with pytest.raises(TypeMismatch) as info:
        parse_bytes(data, filename=filename)
    assert says in str(info.value)


@pytest.mark.parametrize(
    ("media_type", "filename"),
    [
        (HTML, "page.txt"),  # a web page saved as text is still read as HTML
        (MARKDOWN, "notes.txt"),
        (TEXT, "readme.md"),
        (TEXT, "page.HTML"),
        (PNG, "photo.jpg"),  # images are all read by OCR
        (JPEG, "scan.tiff"),
        (PDF, "report"),  # no extension declares nothing
        (PDF, "report.final"),
    ],
)
def test_compatible_or_undeclared_names_pass(media_type, filename):
    check_declared_type(media_type, filename)


def test_a_matching_name_parses_as_before():
    assert parse_bytes(PAGE, filename="notice.html").media_type == HTML
