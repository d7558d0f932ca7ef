"""System checks for the audit settings (``manage.py check --deploy``)."""

from django.conf import settings
from django.core.checks import Error, Tags, register

MIN_KEY_CHARS = 32


@register(Tags.security, deploy=True)
def audit_key_check(app_configs, **kwargs) -> list[Error]:
    if len(settings.AUDIT_HMAC_KEY) >= MIN_KEY_CHARS and not settings.AUDIT_HMAC_KEY.startswith(
        "audit-hmac-development-only:"
    ):
        return []
    return [
        Error(
            f"AUDIT_HMAC_KEY must be set to a random secret of at least {MIN_KEY_CHARS} "
            "characters: it signs the audit checkpoints.",
            hint="python -c 'import secrets; print(secrets.token_urlsafe(48))'",
            id="audit.E001",
        )
    ]
