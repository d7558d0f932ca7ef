from django.conf import settings
from django.http import HttpRequest


def portal(request: HttpRequest) -> dict:
    return {"portal_env": settings.PORTAL_ENV, "llm_backend": settings.LLM_BACKEND}
