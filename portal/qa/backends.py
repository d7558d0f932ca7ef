"""The generation backend for this process, built once from settings (and the adapter the
serving record names: portal/core/serving.py, written by fine-tuning when it promotes or rolls
back; for llama.cpp once the adapter is exported as a GGUF LoRA).

Loading a model takes seconds and hundreds of megabytes, so each process keeps one backend per
configuration. A backend that cannot load (missing model file, wrong checksum, server down at
start) does not take the portal down: answers fall back to the extractive backend, which quotes
the passages, and the reason is logged once for the operator.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.db import DatabaseError

from llm_backend import backend_from_config
from llm_backend.base import Backend, BackendError
from llm_backend.lora import LoraFile, lora_check, lora_select
from llm_backend.model_files import file_sha256
from llm_backend.server import ServerSpec, is_loopback, server_status
from portal.core.serving import serving_backend_config, serving_lora

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_cache: dict[str, Backend] = {}
_failed: dict[
    str, str
] = {}  # config -> why it could not load (logged once, not retried per answer)
_local_adapter: list[str | None] = []  # the local llama-server's adapter id, once per process


def _load(config: dict) -> Backend:
    key = json.dumps(config, sort_keys=True, default=str)
    with _lock:
        if key not in _cache:
            _cache[key] = backend_from_config(config)
        return _cache[key]


def extractive_backend() -> Backend:
    return _load({"kind": "extractive"})


def _serving_config() -> dict:
    """settings.LLM_BACKEND_CONFIG with what serves applied; for the local llama-server, the
    adapter it was started with, so answers record it (``local_server_lora``)."""
    config = serving_backend_config(dict(settings.LLM_BACKEND_CONFIG))
    if (
        config.get("kind") == "openai"
        and not config.get("adapter_id")
        and settings.LLM_SERVER_START
        and is_loopback(config.get("base_url") or "")
    ):
        # Decided once per process, as the server decides once when it starts: `make run` starts
        # the server and the web processes together (restart it after promote or rollback).
        with _lock:
            if not _local_adapter:
                try:
                    lora = local_server_lora()
                except BackendError:  # the server refuses to start with it either
                    lora = None
                _local_adapter.append(lora.label() if lora else None)
        if _local_adapter[0]:
            config = {**config, "adapter_id": _local_adapter[0]}
    return config


def generation_backend() -> Backend:
    """The configured backend, or the extractive one when it cannot be loaded."""
    config = _serving_config()
    key = json.dumps(config, sort_keys=True, default=str)
    if key in _failed:
        return extractive_backend()
    try:
        return _load(config)
    except BackendError as exc:
        _failed[key] = str(exc)
        logger.error("generation backend %s unavailable, quoting passages instead: %s",
                     config.get("kind"), exc)  # fmt: skip
        return extractive_backend()


def backend_problem() -> str | None:
    """Why the configured backend is not in use, for health pages; None when it is."""
    config = _serving_config()
    key = json.dumps(config, sort_keys=True, default=str)
    return _failed.get(key)


def backends_reset() -> None:
    """Forget loaded backends (tests switch settings; an operator reload does the same)."""
    with _lock:
        _cache.clear()
        _failed.clear()
        _local_adapter.clear()


# --- the local inference server (manage.py llm_server; make run; compose) ------------------------


def local_server_lora() -> LoraFile | None:
    """The LoRA adapter the local llama-server loads, checked before it starts: the serving
    adapter's GGUF when one is promoted and exported, else LLM_LORA_PATH (by default the adapter
    shipped in llm_backend/adapters/default, when there is one). None: the base alone, also when
    the adapter was made for another base (logged). Raises LoraError (a BackendError) when the
    file is missing or not the pinned one."""
    try:
        lora = serving_lora()
    except DatabaseError as exc:  # e.g. the llm container started before `migrate`
        logger.warning("cannot read the serving record (%s); serving LLM_LORA_PATH", exc)
        lora = None
    if lora is None:
        lora = lora_select(settings.LLM_LORA_PATH, sha256=settings.LLM_LORA_SHA256 or None)
    if lora is None:
        return None
    model = Path(settings.LLM_MODEL_PATH)
    # Only an adapter that names its base needs the base hashed (a second, for 0.5B Q4).
    base_sha256 = file_sha256(model) if lora.base_sha256 and model.is_file() else ""
    return lora_check(lora, base_sha256=base_sha256, base_name=str(model))


def local_server_spec(
    *, host: str | None = None, port: int | None = None, lora: LoraFile | None = None
) -> ServerSpec:
    """The llama-server that serves LLM_OPENAI_BASE_URL on this host, from settings, with
    ``lora`` (``local_server_lora``) applied when given."""
    url = urlsplit(settings.LLM_OPENAI_BASE_URL)
    return ServerSpec(
        binary=Path(settings.LLM_SERVER_BIN),
        model_path=Path(settings.LLM_MODEL_PATH),
        alias=settings.LLM_OPENAI_MODEL,
        host=host or url.hostname or "127.0.0.1",
        port=port or url.port or 8081,
        slots=settings.LLM_SERVER_SLOTS,
        ctx_per_slot=settings.LLM_N_CTX,
        threads=settings.LLM_N_THREADS or None,
        threads_batch=settings.LLM_N_THREADS_BATCH or None,
        n_gpu_layers=settings.LLM_N_GPU_LAYERS,
        lora_path=lora.path if lora else None,
    )


def local_server_plan() -> dict:
    """Whether `make run` should start a llama-server, and if not, why (for its start-up lines)."""
    base_url = settings.LLM_OPENAI_BASE_URL
    plan = {"start": False, "base_url": base_url, "model": settings.LLM_OPENAI_MODEL}
    if settings.LLM_BACKEND != "openai":
        return plan | {"why": f"LLM_BACKEND={settings.LLM_BACKEND}: no inference server needed"}
    if not settings.LLM_SERVER_START or not is_loopback(base_url):
        return plan | {"why": f"using the inference server at {base_url}"}
    try:
        status = server_status(base_url, api_key=settings.LLM_OPENAI_API_KEY, timeout_s=1.0)
        return plan | {"why": f"an inference server already answers at {base_url}: {status}"}
    except Exception as exc:  # nothing answers: start one
        logger.debug("no inference server at %s (%s)", base_url, exc)
    spec = local_server_spec()
    for what, path in (("llama-server", spec.binary), ("model file", spec.model_path)):
        if not path.exists():
            return plan | {
                "why": f"no {what} at {path} (`make install` provides it); "
                "answers quote passages until an inference server answers"
            }
    return plan | {"start": True, "why": f"starting llama-server for {base_url}"}


def server_probe() -> dict:
    """The inference server's part of readiness: reachable, and serving the configured model."""
    status = server_status(settings.LLM_OPENAI_BASE_URL, api_key=settings.LLM_OPENAI_API_KEY)
    model = settings.LLM_OPENAI_MODEL
    if status["ok"] and model not in status["models"]:
        return status | {"ok": False, "error": f"the server does not serve {model!r}"}
    return status | {"model": model}
