"""The adapter this repository ships in llm_backend/adapters/default (issue 24): the file its
manifest pins, made for the default base model, promoted by the gate, and served by llama.cpp on
that base when LLM_LORA_PATH is left at ``auto``."""

from __future__ import annotations

import json

import pytest

from llm_backend import backend_from_config, lora
from llm_backend.base import GenerationRequest
from llm_backend.model_files import QWEN_SHA256, file_sha256

pytestmark = pytest.mark.skipif(
    not (lora.SHIPPED_DIR / lora.GGUF_NAME).is_file(), reason="no adapter is shipped"
)


def test_the_shipped_adapter_is_pinned_to_the_default_base_and_carries_its_gate_report():
    shipped = lora.lora_select("auto")
    assert shipped is not None and shipped.path == lora.SHIPPED_DIR / lora.GGUF_NAME
    assert file_sha256(shipped.path) == shipped.sha256
    assert shipped.base_sha256 == QWEN_SHA256  # made for the model `make install` assembles
    manifest = json.loads((lora.SHIPPED_DIR / lora.MANIFEST_NAME).read_text())
    assert len(manifest["dataset_hash"]) == 64 and manifest["config"]["config"] == "cpu"
    gate = json.loads((lora.SHIPPED_DIR / manifest["gate_report"]).read_text())
    rows = gate["promotion"]["comparison"]
    assert rows and all(row["passed"] for row in rows)
    # Every comparison was made on dev questions, with the same engine as it serves.
    assert all(key.endswith("/dev") for key in gate["evaluations"])
    assert {e["engine"] for e in gate["evaluations"].values()} == {"llamacpp"}


def test_llama_cpp_serves_the_default_base_with_the_shipped_adapter(qwen_gguf):
    backend = backend_from_config(
        {"kind": "llamacpp", "model_path": str(qwen_gguf), "sha256": QWEN_SHA256,
         "lora_path": "auto", "n_ctx": 1024, "n_threads": 1}
    )  # fmt: skip
    sha = file_sha256(lora.SHIPPED_DIR / lora.GGUF_NAME)
    assert backend.model_id.endswith(f"+lora@sha256:{sha[:12]}")
    stream = backend.stream(
        GenerationRequest(messages=[{"role": "user", "content": "Say hello."}], max_tokens=8)
    )
    assert "".join(stream).strip() and 1 <= stream.usage.completion_tokens <= 8
