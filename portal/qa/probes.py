"""The generation model's part of /health/ready, registered with core in ``QaConfig.ready()``."""

from __future__ import annotations

from django.conf import settings

from portal.qa.backends import backend_problem


def model_probe() -> dict:
    """Whether the configured backend is in use (not replaced by the extractive fallback)."""
    problem = backend_problem()
    result = {"ok": problem is None, "backend": settings.LLM_BACKEND}
    if problem:
        result["error"] = problem
    return result
