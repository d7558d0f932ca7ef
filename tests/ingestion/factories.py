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


# --- Scans for OCR (issue 23): text drawn with PIL, saved as images or as image-only PDFs ------
EN_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
ZH_FONT = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"
SCAN_DPI = 200


def scan(
    lines: list[str],
    *,
    heading: str | None = None,
    font: str = EN_FONT,
    size_pt: int = 12,
    dpi: int = SCAN_DPI,
):
    """A grey PIL image of an A4-wide page: one-inch margins, an optional 16 pt heading, then
    ``lines`` at ``size_pt`` with 1.5 line spacing (a clean scan of a short page)."""
    from PIL import Image, ImageDraw, ImageFont

    px, heading_px = round(size_pt * dpi / 72), round(16 * dpi / 72)
    height = 2 * dpi + (2 * heading_px if heading else 0) + round(1.5 * px) * len(lines)
    image = Image.new("L", (round(8.27 * dpi), height), 255)
    draw = ImageDraw.Draw(image)
    y = dpi
    if heading:
        draw.text((dpi, y), heading, font=ImageFont.truetype(font, heading_px), fill=0)
        y += 2 * heading_px
    face = ImageFont.truetype(font, px)
    for line in lines:
        draw.text((dpi, y), line, font=face, fill=0)
        y += round(1.5 * px)
    return image


def image_bytes(images: list, fmt: str, *, dpi: int = SCAN_DPI) -> bytes:
    """``images`` saved as one file: PNG/JPEG (the first), TIFF or PDF (all, one per page)."""
    buf = io.BytesIO()
    extra = {"save_all": True, "append_images": images[1:]} if fmt in ("TIFF", "PDF") else {}
    if fmt == "PDF":
        extra["resolution"] = dpi
    else:
        extra["dpi"] = (dpi, dpi)
    images[0].save(buf, fmt, **extra)
    return buf.getvalue()


def pdf_text_page_then_scan(scan_image, *, dpi: int = SCAN_DPI) -> bytes:
    """Page 1 has a text layer (fpdf2); page 2 is only ``scan_image``, as a scanner makes it."""
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", "", 11)
    pdf.multi_cell(0, 5, "Page one has a text layer. " + LOREM, **_LINE)
    pdf.add_page()
    width_mm = scan_image.width / dpi * 25.4
    pdf.image(scan_image, x=0, y=0, w=width_mm)
    return bytes(pdf.output())
