"""Fixtures shared by the portal tests that read the real local model."""

import pytest

from llm_backend.model_files import QWEN_FILENAME, gguf_assemble


@pytest.fixture(scope="module")
def qwen_gguf(tmp_path_factory):
    from django.conf import settings

    installed = settings.DATA_DIR / "models" / QWEN_FILENAME
    if installed.is_file() and installed.stat().st_size > 0:
        return installed
    return gguf_assemble(tmp_path_factory.mktemp("models"))
