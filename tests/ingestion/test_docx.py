from __future__ import annotations

import io
import zipfile

import pytest

from ingestion.errors import ArchiveTooLarge, CorruptFile, UnsupportedType
from ingestion.parsers import parse_bytes
from ingestion.parsers.docx import check_zip_directory
from ingestion.sniff import DOCX
from ingestion.types import ParseLimits
from tests.ingestion import factories


def test_docx_headings_lists_and_tables():
    doc = parse_bytes(factories.docx_with_headings_and_table(), filename="rules.docx")

    assert doc.media_type == DOCX
    assert doc.title == "Medicine Subsidy Rules"
    assert doc.page_count is None
    kinds = [(b.kind, b.text.split("\n")[0]) for b in doc.blocks]
    assert kinds[:4] == [
        ("heading", "Medicine Subsidy Rules"),
        ("heading", "1 Scope"),
        ("paragraph", "These rules cover prescription medicines. They apply from 1 May."),
        ("heading", "1.1 Who is covered"),
    ]
    by_text = {b.text: b for b in doc.blocks}
    covered = by_text["Residents with a valid card are covered."]
    assert covered.heading_path == ("Medicine Subsidy Rules", "1 Scope", "1.1 Who is covered")
    assert by_text["- Children\n- Pensioners"].kind == "list"
    table = next(b for b in doc.blocks if b.kind == "table")
    assert table.text == "Group | Co-payment\nChildren | 0%\nAdults | 20%"
    assert table.heading_path[-1] == "1.1 Who is covered"
    appeals = by_text["Appeals go to the regional office within 30 days."]
    assert appeals.heading_path == ("Medicine Subsidy Rules", "2 Appeals")
    for block in doc.blocks:
        assert doc.text[block.char_start : block.char_end] == block.text


def test_docx_core_title_wins():
    doc = parse_bytes(factories.docx_with_headings_and_table(core_title="Official Title"))
    assert doc.title == "Official Title"


def test_zip_bomb_rejected_from_directory_before_unpacking():
    bomb = factories.docx_bomb(entry_bytes=64 * 1024 * 1024)
    assert len(bomb) < 200 * 1024  # tiny on disk, 64 MiB unpacked
    with pytest.raises(ArchiveTooLarge) as info:
        parse_bytes(bomb, filename="bomb.docx")
    assert info.value.code == "archive_too_large"
    assert "expands" in str(info.value)


def test_unpacked_size_over_limit():
    bomb = factories.docx_bomb(entry_bytes=3 * 1024 * 1024)
    with pytest.raises(ArchiveTooLarge) as info:
        check_zip_directory(bomb, limits=ParseLimits(max_unpacked_bytes=1024 * 1024))
    assert "unpack to 3.0 MiB" in str(info.value)
    assert "limit is 1.0 MiB" in str(info.value)


def test_too_many_zip_entries():
    data = factories.docx_many_entries(entries=60)
    with pytest.raises(ArchiveTooLarge) as info:
        parse_bytes(data, limits=ParseLimits(max_zip_entries=50))
    assert "61 files" in str(info.value)
    assert "limit is 50" in str(info.value)


def test_docx_missing_parts_is_corrupt():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("word/document.xml", "<not-really-word/>")
    with pytest.raises(CorruptFile) as info:
        parse_bytes(buf.getvalue(), filename="x.docx")
    assert info.value.code == "corrupt"


def test_zip_that_is_not_word_is_unsupported():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("xl/workbook.xml", "<workbook/>")
    with pytest.raises(UnsupportedType) as info:
        parse_bytes(buf.getvalue(), filename="sheet.docx")
    assert "spreadsheet" in str(info.value)


def test_damaged_zip_directory_is_corrupt():
    data = factories.docx_with_headings_and_table()
    with pytest.raises(CorruptFile):
        parse_bytes(data[: len(data) // 2], filename="cut.docx")
