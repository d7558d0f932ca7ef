"""The generation model's part of /health/ready, registered with core in ``QaConfig.ready()``."""

from __future__ import annotations

from django.conf import settings

from portal.qa.backends import backend_problem, server_probe


def model_probe() -> dict:
    """Whether the configured backend serves answers. In-process backends: loaded (not replaced by
    the quoting fallback). The inference server: answering, with the configured model; while it
    is down answers quote passages and say so, and readiness names it."""
    if settings.LLM_BACKEND == "openai":
        try:
            status = server_probe()
        except Exception as exc:
            status = {"ok": False, "url": settings.LLM_OPENAI_BASE_URL, "error": str(exc)[:300]}
        return {"backend": "openai", **status}
    problem = backend_problem()
    result = {"ok": problem is None, "backend": settings.LLM_BACKEND}
    if problem:
        result["error"] = problem
    return result
