from __future__ import annotations

import pytest

from ingestion.errors import EmptyFile, FileTooLarge, UnsafeFilename, UnsupportedType
from ingestion.filenames import safe_filename
from ingestion.normalize import join_lines, normalize_text
from ingestion.parsers import parse_bytes
from ingestion.sniff import (
    DOCX,
    HTML,
    JPEG,
    MARKDOWN,
    PDF,
    PNG,
    TEXT,
    TIFF,
    decode_text,
    detect_media_type,
)
from ingestion.types import ParsedDocument, ParseLimits
from tests.ingestion import factories
from textkit import language_of


@pytest.mark.parametrize(
    ("data", "filename", "expected"),
    [
        (b"%PDF-1.4\n...", "x.txt", PDF),
        (b"<!DOCTYPE html><html><body>x</body></html>", "x.pdf", HTML),
        (b"  \n<html><p>x</p></html>", "x.docx", HTML),
        (b"<p>Hello</p><p>World</p>", "x.txt", HTML),
        (b"# Heading\n\nText", "readme.md", MARKDOWN),
        (b"Just a plain note.\nSecond line.", "note.md", MARKDOWN),
        (b"Just a plain note.\nSecond line.", "note.txt", TEXT),
        ("普通文本。".encode("gb18030"), "a.txt", TEXT),
        ("Windows Notepad text".encode("utf-16"), "a.txt", TEXT),
        (b"Price is 5 < 6 and <b>not</b> markup-led text", "", TEXT),
        # Images are read with OCR (ingestion/ocr.py).
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 20, "scan.png", PNG),
        (b"\xff\xd8\xff\xe0" + b"\0" * 20, "scan.jpg", JPEG),
        (b"II*\x00" + b"\0" * 20, "scan.tif", TIFF),
        (b"MM\x00*" + b"\0" * 20, "scan.tiff", TIFF),
    ],
)
def test_media_type_decided_by_content(data, filename, expected):
    assert detect_media_type(data, filename=filename) == expected


def test_docx_detected_from_zip_directory():
    assert detect_media_type(factories.docx_with_headings_and_table(), filename="a.pdf") == DOCX


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"GIF89a" + b"\0" * 20, "GIF image"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 20, "legacy Microsoft Office"),
        (bytes(range(256)) * 4, "binary"),
        (b"\x7fELF\x02\x01\x01\x00" + b"\0" * 40, "binary"),
    ],
)
def test_binary_files_are_unsupported(data, reason):
    with pytest.raises(UnsupportedType) as info:
        detect_media_type(data, filename="looks-fine.txt")
    assert info.value.code == "unsupported_type"
    assert reason in str(info.value)


def test_zero_bytes_is_empty_file():
    with pytest.raises(EmptyFile) as info:
        parse_bytes(b"", filename="empty.pdf")
    assert info.value.code == "empty_file"
    assert "0 bytes" in str(info.value)


def test_whitespace_only_text_is_empty_file():
    with pytest.raises(EmptyFile):
        parse_bytes(b" \n\n\t \n", filename="blank.txt")


def test_size_limit_checked_first():
    with pytest.raises(FileTooLarge) as info:
        parse_bytes(b"x" * 2048, limits=ParseLimits(max_bytes=1024))
    assert info.value.code == "too_large"
    assert "2.0 KiB" in str(info.value)
    assert "limit is 1.0 KiB" in str(info.value)


def test_decode_text_prefers_utf8_then_gb18030():
    assert decode_text("医保".encode()) == "医保"
    assert decode_text("医保".encode("gb18030")) == "医保"
    assert decode_text(b"\xef\xbb\xbfhello") == "hello"
    # One damaged byte in a long text file is tolerated.
    assert decode_text(b"hello world " * 50 + b"\xff").startswith("hello world")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\win.ini", "win.ini"),
        ("C:\\x\\y.pdf", "y.pdf"),
        ("\x00.pdf", "pdf"),
        ("evil.php\x00.pdf", "evil.php.pdf"),
        ("/var/uploads/.htaccess", "htaccess"),
        ("医疗保障条例（2024）.pdf", "医疗保障条例（2024）.pdf"),
        ("report\r\n.docx", "report.docx"),
        ("CON.txt", "_CON.txt"),
        ('a<b>:"c"|?.txt', "a_b___c___.txt"),
    ],
)
def test_safe_filename(name, expected):
    assert safe_filename(name) == expected


@pytest.mark.parametrize("name", ["", "..", "../..", "/", "\x00", "...", "\\\\server\\share\\"])
def test_safe_filename_rejects_names_with_nothing_left(name):
    with pytest.raises(UnsafeFilename) as info:
        safe_filename(name)
    assert info.value.code == "unsafe_filename"
    assert "rename the file" in str(info.value)


def test_safe_filename_caps_length_and_keeps_extension():
    name = "政策" * 150 + ".docx"
    out = safe_filename(name)
    assert len(out) == 200
    assert out.endswith(".docx")


def test_normalize_text():
    raw = "A\r\nB\rC\u200b\u202eD\x07  \u00a0 E\tX \t\n\n\n\nF\u3000G，。"
    assert normalize_text(raw) == "A\nB\nCD E\tX\n\nF\u3000G，。"
    # NFC composes; NFKC would have turned the full-width comma into ",".
    assert normalize_text("e\u0301，") == "\u00e9，"


def test_join_lines_is_chinese_aware():
    assert join_lines(["城乡居民", "医疗保险"]) == "城乡居民医疗保险"
    assert join_lines(["Take the", "tablets"]) == "Take the tablets"
    assert join_lines(["anti-", "biotic", "medicine"]) == "antibiotic medicine"
    assert join_lines(["报销比例为", "70%"]) == "报销比例为70%"


def test_join_lines_keeps_chinese_punctuation_and_rare_characters_unspaced():
    assert join_lines(["报销比例为70%，", "个人负担30%"]) == "报销比例为70%，个人负担30%"
    assert join_lines(["第一条", "（总则）"]) == "第一条（总则）"
    assert join_lines(["罕见字\U00020000", "测试"]) == "罕见字\U00020000测试"  # extension B


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("城乡居民基本医疗保险 (URBAN RESIDENT BASIC MEDICAL INSURANCE)", "zh"),
        ("The guideline was endorsed by 中华医学会 in 2020 for all clinics.", "en"),
        ("12345", "en"),
    ],
)
def test_document_language_is_textkits_rule(text, expected):
    """A parsed document's language is ``textkit.language_of`` of its text: no rule of its own."""
    doc = parse_bytes(text.encode("utf-8"), filename="x.txt")
    assert doc.language == language_of(text) == expected


def test_parsed_document_json_round_trip():
    import json

    doc = parse_bytes(factories.pdf_with_sections(pages=2))
    again = ParsedDocument.from_dict(json.loads(json.dumps(doc.to_dict())))
    assert again == doc
