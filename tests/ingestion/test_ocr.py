"""OCR of scanned PDF pages and PNG/JPEG/TIFF uploads (ingestion/ocr.py), in-process and through
the sandbox. The scans are drawn with PIL, so the text on them is known."""

from __future__ import annotations

import difflib
import time

import pytest

from ingestion.chunking import chunk_document
from ingestion.errors import NoTextLayer, ParseTimeout, UnsupportedType
from ingestion.ocr import installed_languages
from ingestion.parsers import parse_bytes
from ingestion.sandbox import parse_file_isolated
from ingestion.types import ParsedDocument, ParseLimits
from tests.ingestion import factories

_LANGUAGES = installed_languages()
pytestmark = pytest.mark.skipif(
    _LANGUAGES is None or not {"eng", "chi_sim"} <= _LANGUAGES,
    reason="Tesseract with eng and chi_sim is not installed (`make ocr` installs it)",
)

EN_LINES = [
    "Housing Benefit helps people on a low income",
    "pay their rent. Apply within 30 days.",
]
ZH_LINES = ["第五条 公民申请普通护照，应当提交本人的", "居民身份证、户口簿和近期免冠照片。"]
ZH_TEXT = "".join(ZH_LINES)


def _page_text(doc: ParsedDocument, page: int) -> str:
    return " ".join(b.text for b in doc.blocks if b.page == page)


def _without_spaces(text: str) -> str:
    return "".join(text.split())


def _similarity(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b).ratio()


def test_an_english_png_is_read_with_its_page_and_confidence():
    png = factories.image_bytes([factories.scan(EN_LINES)], "PNG")
    doc = parse_bytes(png, filename="notice.png")
    assert (doc.media_type, doc.page_count) == ("image/png", 1)
    assert " ".join(EN_LINES) in doc.text
    assert {b.page for b in doc.blocks} == {1}
    assert all(b.ocr_confidence is not None and b.ocr_confidence > 0.8 for b in doc.blocks)
    [page] = doc.ocr_pages
    assert page.page == 1 and page.chars >= 60 and 0.8 < page.confidence <= 1.0
    # The confidence reaches the chunks, which the pipeline stores.
    [chunk] = chunk_document(doc)
    assert chunk.page_start == 1 and chunk.ocr_confidence == min(
        b.ocr_confidence for b in doc.blocks
    )


def test_a_scanned_chinese_page_is_read_and_the_text_page_keeps_its_layer():
    scan = factories.scan(ZH_LINES, heading="第二章 普通护照", font=factories.ZH_FONT)
    pdf = factories.pdf_text_page_then_scan(scan)
    doc = parse_bytes(pdf, filename="护照.pdf")
    assert doc.page_count == 2
    # Page 1 has a text layer: read from it, untouched by OCR.
    assert "Page one has a text layer." in _page_text(doc, 1)
    assert all(b.ocr_confidence is None for b in doc.blocks if b.page == 1)
    # Page 2 is only an image: OCR reads it (a character may be misread), without spaces
    # between Chinese characters.
    heading, *body = [b for b in doc.blocks if b.page == 2]
    # "第二章普通护照" as OCR joins it is a numbered heading, with its space restored.
    assert (heading.kind, heading.text) == ("heading", "第二章 普通护照")
    ocr_text = " ".join(b.text for b in body)
    assert " " not in ocr_text and ocr_text.startswith("第五条")
    assert _similarity(ocr_text, _without_spaces(ZH_TEXT)) >= 0.95
    assert all(b.heading_path == ("第二章 普通护照",) for b in body)
    assert [p.page for p in doc.ocr_pages] == [2]
    assert all(b.ocr_confidence > 0.8 for b in doc.blocks if b.page == 2)
    assert doc.ocr_confidence == doc.ocr_pages[0].confidence


def test_a_pdf_with_a_text_layer_is_not_sent_to_ocr():
    pdf = factories.pdf_with_sections(pages=3)
    doc = parse_bytes(pdf, filename="guide.pdf")
    assert doc.ocr_pages == () and all(b.ocr_confidence is None for b in doc.blocks)
    assert doc == parse_bytes(pdf, filename="guide.pdf", limits=ParseLimits(ocr=False))
    # The stored form of a text-layer document does not change with OCR's new fields.
    assert "ocr_pages" not in doc.to_dict()
    assert all("ocr_confidence" not in b for b in doc.to_dict()["blocks"])


def test_each_frame_of_a_tiff_is_a_page():
    frames = [factories.scan(EN_LINES[:1]), factories.scan(["Page two: appeals go to the office."])]
    doc = parse_bytes(factories.image_bytes(frames, "TIFF"), filename="scan.tiff")
    assert (doc.media_type, doc.page_count) == ("image/tiff", 2)
    assert _page_text(doc, 1) == EN_LINES[0]
    assert _page_text(doc, 2) == "Page two: appeals go to the office."
    assert [p.page for p in doc.ocr_pages] == [1, 2]


def test_a_jpeg_and_a_png_with_a_transparent_background_are_read():
    jpeg = factories.image_bytes([factories.scan(EN_LINES)], "JPEG")
    doc = parse_bytes(jpeg, filename="photo.jpg")
    assert doc.media_type == "image/jpeg" and " ".join(EN_LINES) in doc.text
    # Black text on a transparent background: flattened on white, not black on black.
    text = factories.scan(EN_LINES)
    transparent = text.convert("LA")
    transparent.putalpha(text.point(lambda v: 255 - v))
    doc = parse_bytes(factories.image_bytes([transparent], "PNG"), filename="logo.png")
    assert " ".join(EN_LINES) in doc.text


def test_ocr_switched_off_keeps_the_no_text_layer_error_and_refuses_images():
    scanned = factories.image_bytes([factories.scan(EN_LINES)], "PDF")
    off = ParseLimits(ocr=False)
    with pytest.raises(NoTextLayer) as info:
        parse_bytes(scanned, filename="scan.pdf", limits=off)
    assert info.value.code == "no_text_layer"
    assert "no text layer" in str(info.value) and "INGEST_OCR" in str(info.value)
    with pytest.raises(UnsupportedType) as info:
        parse_bytes(factories.image_bytes([factories.scan(EN_LINES)], "PNG"), limits=off)
    assert "OCR" in str(info.value) and "switched off" in str(info.value)


def test_a_missing_language_is_named_with_its_package():
    scanned = factories.image_bytes([factories.scan(EN_LINES)], "PDF")
    with pytest.raises(NoTextLayer) as info:
        parse_bytes(scanned, limits=ParseLimits(ocr_languages="eng+kor"))
    assert "tesseract-ocr-kor" in str(info.value)


def test_a_page_that_ocr_cannot_read_still_reports_no_text():
    with pytest.raises(NoTextLayer) as info:
        parse_bytes(factories.pdf_without_text(pages=2), filename="drawing.pdf")
    assert "OCR found no readable text" in str(info.value)


def test_a_page_over_its_ocr_time_limit_is_stopped_and_named():
    scanned = factories.image_bytes([factories.scan(EN_LINES)], "PDF")
    with pytest.raises(ParseTimeout) as info:
        parse_bytes(scanned, limits=ParseLimits(ocr_page_timeout_s=0.01))
    assert "page 1" in str(info.value) and "0.01 seconds" in str(info.value)


def test_the_sandbox_gives_every_ocr_page_its_own_time(tmp_path):
    """Six scanned pages read one at a time take longer than the per-document limit allows;
    each page announced by the child adds its own budget, so the scan still completes."""
    pages = [factories.scan([*EN_LINES, f"This is page {n}."], size_pt=10) for n in range(1, 7)]
    path = tmp_path / "long-scan.pdf"
    path.write_bytes(factories.image_bytes(pages, "PDF"))
    serial = ParseLimits(ocr_workers=1)
    started = time.perf_counter()
    parse_bytes(path.read_bytes(), limits=serial)
    in_process = time.perf_counter() - started
    limits = ParseLimits(ocr_workers=1, timeout_s=in_process / 2, ocr_page_timeout_s=30)
    doc = parse_file_isolated(path, filename="long-scan.pdf", limits=limits)
    # One Tesseract run read pages 1-4 and another 5-6: each text is on its own page.
    assert [p.page for p in doc.ocr_pages] == [1, 2, 3, 4, 5, 6]
    assert all(f"This is page {n}." in _page_text(doc, n) for n in range(1, 7))


def test_the_serving_parser_reports_each_page_sent_to_ocr(tmp_path):
    from ingestion.sandbox import ParserProcess

    path = tmp_path / "scan.tiff"
    path.write_bytes(factories.image_bytes([factories.scan(EN_LINES)] * 3, "TIFF"))
    pages: list[int] = []
    parser = ParserProcess()
    try:
        doc = parser.parse(path, on_page=lambda: pages.append(len(pages) + 1))
    finally:
        parser.close()
    assert pages == [1, 2, 3] and doc.page_count == 3
