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

from django.conf import settings

from llm_backend import backend_from_config
from llm_backend.base import Backend, BackendError
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
