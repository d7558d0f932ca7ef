from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from ingestion.errors import (
    EmptyFile,
    EncryptedFile,
    FileTooLarge,
    ParseResourceLimit,
    ParserFailed,
    ParseTimeout,
    UnsupportedType,
)
from ingestion.parsers import parse_bytes
from ingestion.sandbox import _crash_error, parse_file_isolated
from ingestion.types import ParseLimits
from tests.ingestion import factories


def _write(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_isolated_parse_equals_in_process_parse(tmp_path, monkeypatch):
    pdf = factories.pdf_with_sections(pages=2)
    docx = factories.docx_with_headings_and_table()
    md = "# 标题\n\n第一段。第二句！\n\n- 项目\n".encode()
    paths = [
        (_write(tmp_path, "a.pdf", pdf), "a.pdf", pdf),
        (_write(tmp_path, "b.docx", docx), "b.docx", docx),
        (_write(tmp_path, "c.md", md), "c.md", md),
    ]
    # The child must find the package whatever the caller's working directory.
    monkeypatch.chdir(tmp_path)
    for path, name, data in paths:
        assert parse_file_isolated(path, filename=name) == parse_bytes(data, filename=name)


def test_child_errors_are_reraised_with_the_same_class(tmp_path):
    path = _write(tmp_path, "secret.pdf", factories.pdf_encrypted())
    with pytest.raises(EncryptedFile) as info:
        parse_file_isolated(path, filename="secret.pdf")
    assert info.value.code == "encrypted"
    assert "password" in str(info.value)

    path = _write(tmp_path, "image.txt", b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    with pytest.raises(UnsupportedType):
        parse_file_isolated(path)


def test_empty_and_oversized_files_are_refused_without_a_child(tmp_path):
    with pytest.raises(EmptyFile):
        parse_file_isolated(_write(tmp_path, "empty.pdf", b""))
    with pytest.raises(FileTooLarge) as info:
        parse_file_isolated(
            _write(tmp_path, "big.txt", b"x" * 4096), limits=ParseLimits(max_bytes=1024)
        )
    assert "limit is 1.0 KiB" in str(info.value)


def test_wall_clock_timeout_kills_the_child(tmp_path):
    path = _write(tmp_path, "a.txt", b"Some text.")
    with pytest.raises(ParseTimeout) as info:
        parse_file_isolated(path, limits=ParseLimits(timeout_s=0.001))
    assert info.value.code == "timeout"
    assert "0.001 seconds" in str(info.value)


def test_memory_limit_is_reported_as_resource_limit(tmp_path):
    # 48 MiB of text cannot be read and decoded within a 96 MiB address space.
    path = _write(tmp_path, "huge.txt", b"All work and no play. " * (48 * 1024 * 1024 // 22))
    limits = ParseLimits(max_bytes=64 * 1024 * 1024, memory_bytes=96 * 1024 * 1024)
    with pytest.raises(ParseResourceLimit) as info:
        parse_file_isolated(path, limits=limits)
    assert info.value.code == "resource_limit"
    assert "memory" in str(info.value)
    # The same limit is ample for an ordinary document.
    small = _write(tmp_path, "small.txt", b"All work and no play. " * 1000)
    assert parse_file_isolated(small, limits=limits).blocks


def test_crashes_map_to_clear_errors():
    killed = subprocess.CompletedProcess([], -signal.SIGKILL, b"", b"")
    err = _crash_error(killed)
    assert isinstance(err, ParseResourceLimit)
    assert "SIGKILL" in str(err)
    assert isinstance(
        _crash_error(subprocess.CompletedProcess([], -signal.SIGXCPU, b"", b"")), ParseTimeout
    )
    oom = subprocess.CompletedProcess([], 1, b"", b"Traceback...\nMemoryError\n")
    assert isinstance(_crash_error(oom), ParseResourceLimit)
    other = subprocess.CompletedProcess([], 3, b"", b"Segfault-ish trouble\n")
    assert isinstance(_crash_error(other), ParserFailed)


def test_child_imports_nothing_heavy():
    code = (
        "import sys, ingestion.child, ingestion.sandbox, ingestion.chunking\n"
        "from ingestion.parsers import parse_bytes\n"
        "parse_bytes(b'# T\\n\\nx', filename='a.md')\n"
        "heavy = {'torch', 'django', 'numpy', 'sentence_transformers', 'faiss'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=30
    )
    assert out.stdout.strip() == "[]"


def test_serving_parser_reuses_one_child_and_matches_in_process(tmp_path):
    from ingestion.sandbox import ParserProcess

    parser = ParserProcess()
    try:
        md = "# 标题\n\n第一段。第二句！\n".encode()
        first = parser.parse(_write(tmp_path, "a.md", md), filename="a.md")
        pid = parser.pid
        second = parser.parse(_write(tmp_path, "b.txt", b"Plain words."), filename="b.txt")
        assert first == parse_bytes(md, filename="a.md")
        assert "Plain words." in second.text and parser.pid == pid
    finally:
        parser.close()


def test_serving_parser_survives_errors_timeouts_and_a_killed_child(tmp_path):
    import os

    from ingestion.sandbox import ParserProcess

    parser = ParserProcess()
    good = _write(tmp_path, "ok.txt", b"Benefits are paid monthly.")
    try:
        with pytest.raises(EncryptedFile):
            parser.parse(_write(tmp_path, "s.pdf", factories.pdf_encrypted()), filename="s.pdf")
        assert "monthly" in parser.parse(good).text  # an error reply keeps the child

        with pytest.raises(ParseTimeout):
            parser.parse(good, limits=ParseLimits(timeout_s=0.0001))
        assert parser.pid is None  # the timed-out child was killed
        assert "monthly" in parser.parse(good).text

        os.kill(parser.pid, signal.SIGKILL)  # dies between files
        assert "monthly" in parser.parse(good).text
    finally:
        parser.close()


def test_serving_parser_reports_a_memory_limit_and_recovers(tmp_path):
    from ingestion.sandbox import ParserProcess

    parser = ParserProcess()
    tight = ParseLimits(memory_bytes=96 * 1024 * 1024)
    big = _write(tmp_path, "big.txt", b"word " * (10 * 1024 * 1024))
    try:
        with pytest.raises(ParseResourceLimit):
            parser.parse(big, limits=tight)
        small = _write(tmp_path, "small.txt", b"Short text.")
        assert "Short text." in parser.parse(small, limits=tight).text
    finally:
        parser.close()
