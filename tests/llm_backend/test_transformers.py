"""The transformers backend on a tiny random Qwen2 saved to disk, with and without a LoRA adapter.

Nothing is downloaded: the model and its tokenizer are built in a temporary folder (tiny_hf.py) and
loaded back through the backend exactly as a fine-tuned model directory would be.
"""

from __future__ import annotations

import os

import pytest

from llm_backend import backend_from_config
from llm_backend.base import BackendError, GenerationRequest

from .tiny_hf import tiny_lora, tiny_qwen2

pytestmark = pytest.mark.slow

REQUEST = GenerationRequest(
    messages=[{"role": "user", "content": "Can I renew my passport by mail?"}], max_tokens=12
)


@pytest.fixture(scope="module")
def model_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny-hf")
    base = tiny_qwen2(root / "base")
    return {
        "base": base,
        "lora": tiny_lora(base, root / "lora", scale=0.5),
        "zero": tiny_lora(base, root / "zero", scale=0.0),
    }


def _backend(model_dirs, adapter: str | None = None):
    return backend_from_config(
        {
            "kind": "transformers",
            "model_dir": str(model_dirs["base"]),
            "adapter_dir": str(model_dirs[adapter]) if adapter else "",
            "device": "cpu",
            "dtype": "float32",
            "n_threads": 1,
        }
    )


def test_local_model_streams_with_usage_and_runs_offline(model_dirs):
    backend = _backend(model_dirs)
    assert backend.kind == "transformers"
    assert backend.model_id.startswith("base@sha256:") and backend.adapter_id is None
    assert os.environ["HF_HUB_OFFLINE"] == "1" and os.environ["TRANSFORMERS_OFFLINE"] == "1"
    import huggingface_hub

    assert huggingface_hub.constants.HF_HUB_OFFLINE is True  # also when imported before us
    stream = backend.stream(REQUEST)
    deltas = list(stream)
    assert deltas and "".join(deltas)
    usage = stream.usage
    assert usage.prompt_tokens > 5
    assert usage.completion_tokens == 12 and usage.finish_reason == "length"
    assert usage.first_token_s is not None and usage.total_s >= usage.first_token_s
    assert usage.constrained is False  # grammars are not enforced by this backend


def test_lora_adapter_is_applied_and_identified(model_dirs):
    base_text, _ = _backend(model_dirs).generate(REQUEST)
    lora = _backend(model_dirs, "lora")
    assert lora.adapter_id is not None and lora.adapter_id.startswith("lora@sha256:")
    lora_text, _ = lora.generate(REQUEST)
    assert lora_text != base_text
    # An adapter whose B matrices are zero changes nothing: the base weights were not disturbed.
    zero = _backend(model_dirs, "zero")
    assert zero.adapter_id != lora.adapter_id
    assert zero.generate(REQUEST)[0] == base_text


def test_closing_early_stops_the_generation_thread(model_dirs):
    backend = _backend(model_dirs)
    request = GenerationRequest(messages=REQUEST.messages, max_tokens=200)
    stream = backend.stream(request)
    next(stream)
    stream.close()
    assert stream.usage.finish_reason == "closed"
    assert stream.usage.completion_tokens < 200
    assert backend.generate(REQUEST)[1].completion_tokens == 12  # the lock was released


def test_missing_directories_are_backend_errors(tmp_path, model_dirs):
    with pytest.raises(BackendError, match="LLM_HF_MODEL_DIR"):
        backend_from_config({"kind": "transformers", "model_dir": str(tmp_path)})
    with pytest.raises(BackendError, match="LLM_ADAPTER_DIR"):
        backend_from_config(
            {
                "kind": "transformers",
                "model_dir": str(model_dirs["base"]),
                "adapter_dir": str(tmp_path),
            }
        )
    with pytest.raises(BackendError, match="model_dir"):
        backend_from_config({"kind": "transformers"})
