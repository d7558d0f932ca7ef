"""Builders for real test files: PDFs with fpdf2, DOCX with python-docx, ZIPs by hand."""

from __future__ import annotations

import io
import zipfile

from fpdf import FPDF

LOREM = (
    "Applicants must submit proof of residence and income to the local office. "
    "The office replies within thirty working days, e.g. by letter or by e-mail. "
)
_LINE = {"new_x": "LMARGIN", "new_y": "NEXT"}


def pdf_with_sections(*, pages: int = 3, title: str | None = "Housing Benefit Guide") -> bytes:
    """Each page: a 16pt chapter heading, a 12pt bold numbered subsection, two paragraphs."""
    pdf = FPDF()
    if title:
        pdf.set_title(title)
    for n in range(1, pages + 1):
        pdf.add_page()
        pdf.set_font("Helvetica", "B", 16)
        pdf.cell(0, 10, f"{n} Chapter {n}", **_LINE)
        pdf.set_font("Helvetica", "B", 12)
        pdf.cell(0, 8, f"{n}.1 Eligibility", **_LINE)
        pdf.set_font("Helvetica", "", 11)
        pdf.multi_cell(0, 5, f"Page {n} first paragraph. " + LOREM * 3, **_LINE)
        pdf.ln(5)
        pdf.multi_cell(0, 5, f"Page {n} second paragraph. " + LOREM, **_LINE)
    return bytes(pdf.output())


def pdf_encrypted() -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", "", 11)
    pdf.cell(0, 10, "Confidential text")
    pdf.set_encryption(owner_password="owner-secret", user_password="user-secret")
    return bytes(pdf.output())


def pdf_without_text(*, pages: int = 2) -> bytes:
    pdf = FPDF()
    for _ in range(pages):
        pdf.add_page()
        pdf.rect(20, 20, 100, 60, style="F")
    return bytes(pdf.output())


def docx_with_headings_and_table(*, core_title: str = "") -> bytes:
    import docx

    document = docx.Document()
    if core_title:
        document.core_properties.title = core_title
    document.add_heading("Medicine Subsidy Rules", level=0)
    document.add_heading("1 Scope", level=1)
    document.add_paragraph("These rules cover prescription medicines. They apply from 1 May.")
    document.add_heading("1.1 Who is covered", level=2)
    document.add_paragraph("Residents with a valid card are covered.")
    document.add_paragraph("Children", style="List Bullet")
    document.add_paragraph("Pensioners", style="List Bullet")
    table = document.add_table(rows=3, cols=2)
    for r, (a, b) in enumerate([("Group", "Co-payment"), ("Children", "0%"), ("Adults", "20%")]):
        table.cell(r, 0).text = a
        table.cell(r, 1).text = b
    document.add_heading("2 Appeals", level=1)
    document.add_paragraph("Appeals go to the regional office within 30 days.")
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def docx_bomb(*, entry_bytes: int) -> bytes:
    """A DOCX-shaped zip whose one extra entry is ``entry_bytes`` of zeros (compresses ~1000x)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", "<w:document/>")
        with zf.open("word/media/bomb.bin", "w", force_zip64=True) as fh:
            block = b"\0" * (1024 * 1024)
            for _ in range(entry_bytes // len(block)):
                fh.write(block)
    return buf.getvalue()


def docx_many_entries(*, entries: int) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("word/document.xml", "<w:document/>")
        for i in range(entries):
            zf.writestr(f"word/media/{i}.txt", b"")
    return buf.getvalue()
