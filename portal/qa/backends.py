"""The generation backend for this process, built once from settings (and, for the
transformers backend, the adapter the serving record names: portal/core/serving.py, written by
fine-tuning when it promotes or rolls back).

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

from llm_backend import backend_from_config
from llm_backend.base import Backend, BackendError
from llm_backend.server import ServerSpec, is_loopback, server_status
from portal.core.serving import serving_backend_config

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_cache: dict[str, Backend] = {}
_failed: dict[
    str, str
] = {}  # config -> why it could not load (logged once, not retried per answer)


def _load(config: dict) -> Backend:
    key = json.dumps(config, sort_keys=True, default=str)
    with _lock:
        if key not in _cache:
            _cache[key] = backend_from_config(config)
        return _cache[key]


def extractive_backend() -> Backend:
    return _load({"kind": "extractive"})


def generation_backend() -> Backend:
    """The configured backend, or the extractive one when it cannot be loaded."""
    config = serving_backend_config(dict(settings.LLM_BACKEND_CONFIG))
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
    config = serving_backend_config(dict(settings.LLM_BACKEND_CONFIG))
    key = json.dumps(config, sort_keys=True, default=str)
    return _failed.get(key)


def backends_reset() -> None:
    """Forget loaded backends (tests switch settings; an operator reload does the same)."""
    with _lock:
        _cache.clear()
        _failed.clear()


# --- the local inference server (manage.py llm_server; make run; compose) ------------------------


def local_server_spec(*, host: str | None = None, port: int | None = None) -> ServerSpec:
    """The llama-server that serves LLM_OPENAI_BASE_URL on this host, from settings."""
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
