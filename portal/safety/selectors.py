"""Reads for the safety layer: the settings admins may see, lexicon status."""

from __future__ import annotations

from django.conf import settings

from portal.safety.models import LexiconVersion, SensitiveTerm


def safety_settings() -> list[tuple[str, object]]:
    """Every SAFETY_* setting in force, for the read-only panel in the admin."""
    return sorted(
        (name, getattr(settings, name)) for name in dir(settings) if name.startswith("SAFETY_")
    )


def lexicon_status() -> dict:
    latest = LexiconVersion.objects.order_by("-id").first()
    return {
        "version": latest.pk if latest else 0,
        "content_hash": latest.content_hash if latest else "",
        "enabled_terms": SensitiveTerm.objects.filter(enabled=True).count(),
        "total_terms": SensitiveTerm.objects.count(),
        "updated_at": latest.created_at if latest else None,
    }
