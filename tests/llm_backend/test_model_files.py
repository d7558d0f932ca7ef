"""Assembling the default GGUF from its part wheels: pinned hash, idempotent, atomic."""

from __future__ import annotations

import hashlib
import sys

import pytest

from llm_backend import model_files
from llm_backend.model_files import (
    QWEN_SHA256,
    QWEN_SIZE,
    ModelFileError,
    gguf_assemble,
    qwen_part_paths,
)


def test_installed_parts_are_the_pinned_model():
    parts = qwen_part_paths()
    assert [p.name for p in parts] == [f"part0{i}.bin" for i in range(1, 7)]
    assert sum(p.stat().st_size for p in parts) == QWEN_SIZE
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.read_bytes())
    assert digest.hexdigest() == QWEN_SHA256
    assert parts[0].read_bytes()[:4] == b"GGUF"


@pytest.fixture
def small_parts(tmp_path, monkeypatch):
    """Three tiny part packages standing in for the 491 MB wheels (the wheels are not ours)."""
    blobs = [b"GGUF-part-one|", b"part-two|", b"part-three"]
    root = tmp_path / "site"
    names = []
    for i, blob in enumerate(blobs, start=1):
        package = root / f"fake_model_part{i}"
        (package / "data").mkdir(parents=True)
        (package / "data" / f"part0{i}.bin").write_bytes(blob)
        (package / "__init__.py").write_text(
            "import os\n"
            "def get_part_path():\n"
            f"    return os.path.join(os.path.dirname(__file__), 'data', 'part0{i}.bin')\n"
        )
        names.append(package.name)
    monkeypatch.syspath_prepend(str(root))
    joined = b"".join(blobs)
    monkeypatch.setattr(model_files, "QWEN_PART_MODULES", tuple(names))
    monkeypatch.setattr(model_files, "QWEN_SHA256", hashlib.sha256(joined).hexdigest())
    monkeypatch.setattr(model_files, "QWEN_SIZE", len(joined))
    yield joined
    for name in names:
        sys.modules.pop(name, None)


def test_assemble_joins_parts_in_order_and_is_idempotent(small_parts, tmp_path):
    dest = tmp_path / "models"
    path = gguf_assemble(dest)
    assert path == dest / model_files.QWEN_FILENAME
    assert path.read_bytes() == small_parts
    before = path.stat()
    assert gguf_assemble(dest) == path
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)  # kept
    assert sorted(p.name for p in dest.iterdir()) == [model_files.QWEN_FILENAME]


def test_a_corrupted_file_is_replaced(small_parts, tmp_path):
    dest = tmp_path / "models"
    dest.mkdir()
    # The right size but the wrong bytes.
    (dest / model_files.QWEN_FILENAME).write_bytes(b"X" * len(small_parts))
    assert gguf_assemble(dest).read_bytes() == small_parts


def test_hash_mismatch_fails_and_leaves_nothing_behind(small_parts, tmp_path, monkeypatch):
    monkeypatch.setattr(model_files, "QWEN_SHA256", "0" * 64)
    dest = tmp_path / "models"
    with pytest.raises(ModelFileError, match="not the pinned"):
        gguf_assemble(dest)
    assert list(dest.iterdir()) == []  # no half-written or temporary file


def test_cli_reports_success_and_failure(small_parts, tmp_path, monkeypatch, capsys):
    assert model_files.main(["assemble", "--dest", str(tmp_path / "m")]) == 0
    assert "sha256=" in capsys.readouterr().out
    monkeypatch.setattr(model_files, "QWEN_PART_MODULES", ("no_such_part_module",))
    assert model_files.main(["assemble", "--dest", str(tmp_path / "other")]) == 1
    assert "make install" in capsys.readouterr().err
    assert model_files.main(["info"]) == 0
    assert "Apache-2.0" in capsys.readouterr().out


def test_requantize_writes_a_loadable_file_atomically(smollm2_gguf, tmp_path):
    from llm_backend.bench import gguf_tensor_bytes

    target = model_files.gguf_requantize(smollm2_gguf, tmp_path / "small-q8.gguf", kind="q8_0")
    assert target.is_file() and [p.name for p in tmp_path.iterdir()] == ["small-q8.gguf"]
    # Q8_0 holds more bits per weight than the Q4_1 source: the tensors grew.
    assert sum(gguf_tensor_bytes(target).values()) > sum(gguf_tensor_bytes(smollm2_gguf).values())
    again = model_files.gguf_requantize(smollm2_gguf, tmp_path / "again.gguf", kind="q8_0")
    assert model_files.file_sha256(again) == model_files.file_sha256(target)  # deterministic


def test_requantize_fails_clearly_and_leaves_nothing(tmp_path):
    with pytest.raises(ModelFileError, match="no quantization type"):
        model_files.gguf_requantize(tmp_path / "x.gguf", tmp_path / "y.gguf", kind="q99")
    with pytest.raises(ModelFileError, match="does not exist"):
        model_files.gguf_requantize(tmp_path / "x.gguf", tmp_path / "y.gguf", kind="q8_0")
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(ModelFileError, match="could not requantize"):
        model_files.gguf_requantize(broken, tmp_path / "out.gguf", kind="q8_0")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.gguf"]


def test_the_fast_file_is_pinned_and_its_pin_follows_the_path():
    from llm_backend.model_files import QWEN_FAST_FILENAME, QWEN_FAST_SHA256, QWEN_FILENAME

    assert model_files.pinned_sha256(f"/srv/models/{QWEN_FILENAME}") == QWEN_SHA256
    assert model_files.pinned_sha256(f"var/models/{QWEN_FAST_FILENAME}") == QWEN_FAST_SHA256
    assert model_files.pinned_sha256("/srv/models/own.gguf") == ""
