from __future__ import annotations

import pytest

from ingestion.errors import CorruptFile, EncryptedFile, FileTooLarge, NoTextLayer
from ingestion.parsers import parse_bytes
from ingestion.parsers.pdf import parse_pdf
from ingestion.sniff import PDF
from ingestion.types import ParseLimits
from tests.ingestion import factories


@pytest.fixture(scope="module")
def three_pages() -> bytes:
    return factories.pdf_with_sections(pages=3)


def test_pdf_blocks_carry_pages_headings_and_offsets(three_pages):
    doc = parse_bytes(three_pages, filename="guide.pdf")

    assert doc.media_type == PDF
    assert doc.title == "Housing Benefit Guide"
    assert doc.page_count == 3
    assert doc.language == "en"
    headings = [(b.text, b.page, b.heading_path) for b in doc.blocks if b.kind == "heading"]
    assert headings[:2] == [
        ("1 Chapter 1", 1, ("1 Chapter 1",)),
        ("1.1 Eligibility", 1, ("1 Chapter 1", "1.1 Eligibility")),
    ]
    assert ("3.1 Eligibility", 3, ("3 Chapter 3", "3.1 Eligibility")) in headings
    paragraphs = [b for b in doc.blocks if b.kind == "paragraph"]
    # Two paragraphs per page, the wrapped lines of each rejoined into one block.
    assert len(paragraphs) == 6
    second_page = [b for b in paragraphs if b.page == 2]
    assert second_page[0].text.startswith("Page 2 first paragraph. Applicants must")
    assert second_page[0].heading_path == ("2 Chapter 2", "2.1 Eligibility")
    assert "\n" not in second_page[0].text
    assert second_page[1].text.startswith("Page 2 second paragraph.")
    for block in doc.blocks:
        assert doc.text[block.char_start : block.char_end] == block.text


def test_hard_wrapped_lines_rejoin_with_single_spaces(three_pages):
    doc = parse_bytes(three_pages)
    first = next(b for b in doc.blocks if b.kind == "paragraph")
    assert "  " not in first.text
    assert "e.g. by letter or by e-mail." in first.text


def test_password_protected_pdf_is_reported_as_encrypted():
    with pytest.raises(EncryptedFile) as info:
        parse_bytes(factories.pdf_encrypted(), filename="secret.pdf")
    assert info.value.code == "encrypted"
    assert "password" in str(info.value)


def test_pdf_with_only_drawings_has_no_text_layer():
    # With OCR switched off (tests/ingestion/test_ocr.py has it on): the message says so.
    with pytest.raises(NoTextLayer) as info:
        parse_bytes(
            factories.pdf_without_text(pages=2), filename="scan.pdf", limits=ParseLimits(ocr=False)
        )
    assert info.value.code == "no_text_layer"
    message = str(info.value)
    assert "OCR is switched off here (INGEST_OCR)" in message
    assert "text layer" in message


def test_truncated_pdf_is_corrupt(three_pages):
    with pytest.raises(CorruptFile) as info:
        parse_bytes(three_pages[:200], filename="broken.pdf")
    assert info.value.code == "corrupt"
    assert "damaged" in str(info.value)


def test_garbage_after_pdf_magic_is_corrupt():
    with pytest.raises(CorruptFile):
        parse_bytes(b"%PDF-1.7\n" + b"\x8f\x12 not a pdf body " * 50)


def test_page_limit_is_enforced_before_text_extraction(three_pages):
    with pytest.raises(FileTooLarge) as info:
        parse_pdf(three_pages, limits=ParseLimits(max_pages=2))
    assert info.value.code == "too_large"
    assert "3 pages" in str(info.value)
    assert "limit is 2" in str(info.value)


def test_pdf_without_metadata_title_has_none():
    doc = parse_bytes(factories.pdf_with_sections(pages=1, title=None))
    assert doc.title is None
    assert doc.page_count == 1


def test_chinese_pdf_lines_rejoin_without_spaces_and_number_headings():
    from ingestion.parsers.pdf import _classify, _Line, _paragraphs

    def line(text, bottom, *, height=12.0, left=72.0, right=520.0):
        return _Line(text, left, right, bottom, height, bold=False)

    lines = [
        line("第一章　总则", 760, height=18.0, right=200),
        line("第一条　为了规范医疗保障基金的使用，维护基金安全，保障参保人员", 730),
        line("合法权益，制定本条例。", 716, right=300),
        line("第二条　本条例适用于中华人民共和国境内基本医疗保险基金的使用。", 702),
    ]
    paras = _paragraphs(lines)
    blocks = [_classify(p, 7, body_height=12.0)[0] for p in paras]
    assert [(b.kind, b.text, b.page) for b in blocks] == [
        ("heading", "第一章　总则", 7),
        (
            "paragraph",
            "第一条　为了规范医疗保障基金的使用，维护基金安全，保障参保人员合法权益，制定本条例。",
            7,
        ),
        ("paragraph", "第二条　本条例适用于中华人民共和国境内基本医疗保险基金的使用。", 7),
    ]
    assert blocks[0].level == 1
