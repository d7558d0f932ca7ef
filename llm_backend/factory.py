"""``backend_from_config``: one settings dict in, a ready backend out.

The portal builds the dict from its environment (``LLM_BACKEND_CONFIG`` in portal/settings.py) and
caches the backend per process; loading happens here, once. Engines are imported only for the kind
asked for, so a deployment on the extractive or OpenAI backend needs neither llama.cpp nor torch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from llm_backend.base import Backend, BackendError

KINDS = ("llamacpp", "transformers", "openai", "extractive")
_EXTRACTIVE_KEYS = (
    "max_sentences",
    "min_coverage",
    "relative_min",
    "embed",
    "dense_weight",
    "dense_min",
)


def _given(config: dict[str, Any], *keys: str) -> dict[str, Any]:
    """The keys that are present and not None (absent settings fall back to backend defaults)."""
    return {k: config[k] for k in keys if config.get(k) is not None}


def backend_from_config(config: dict[str, Any]) -> Backend:
    kind = config.get("kind") or "llamacpp"
    if kind == "llamacpp":
        from llm_backend.llamacpp import LlamaCppBackend
        from llm_backend.lora import lora_select

        model_path = config.get("model_path")
        if not model_path:
            raise BackendError("the llamacpp backend needs model_path (LLM_MODEL_PATH)")
        # LLM_LORA_PATH: "auto" (the shipped adapter, if any), "none", or a GGUF LoRA file.
        lora = lora_select(
            config.get("lora_path") or "none",
            sha256=config.get("lora_sha256"),
            base_sha256=config.get("lora_base_sha256"),
            adapter_id=config.get("lora_id"),
        )
        return LlamaCppBackend(
            model_path=Path(model_path),
            **(lora.as_config() if lora else {}),
            **_given(
                config,
                "sha256",
                "n_ctx",
                "n_threads",
                "n_threads_batch",
                "n_gpu_layers",
                "n_batch",
                "chat_format",
                "grammar_check_first",
                "allow_amx",
                "lora_scale",
            ),
        )
    if kind == "transformers":
        from llm_backend.hf import TransformersBackend

        if not config.get("model_dir"):
            raise BackendError("the transformers backend needs model_dir (LLM_HF_MODEL_DIR)")
        return TransformersBackend(
            model_dir=config["model_dir"],
            adapter_dir=config.get("adapter_dir") or None,
            **_given(config, "device", "dtype", "n_threads"),
        )
    if kind == "openai":
        from llm_backend.openai_compat import OpenAIBackend

        return OpenAIBackend(
            base_url=config.get("base_url") or "",
            model=config.get("model") or "",
            **_given(
                config,
                "api_key",
                "timeout_s",
                "connect_timeout_s",
                "grammar_field",
                "include_usage",
                "extra_body",
                "adapter_id",
            ),
        )
    if kind == "extractive":
        from llm_backend.extractive import ExtractiveBackend

        return ExtractiveBackend(**_given(config, *_EXTRACTIVE_KEYS))
    raise BackendError(f"unknown LLM backend kind {kind!r}; choose one of {', '.join(KINDS)}")
