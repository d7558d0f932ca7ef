"""Appending to the audit trail."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from portal.accounts.selectors import user_role
from portal.audit.models import AuditEvent, AuditHead

GENESIS = "0" * 64


def event_digest(*, prev_hash: str, fields: dict[str, Any]) -> str:
    canonical = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((prev_hash + canonical).encode("utf-8")).hexdigest()


def event_fields(event: AuditEvent) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "at": event.at.isoformat(),
        "actor_id": event.actor_id,
        "actor_role": event.actor_role,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "client": event.client,
        "detail": event.detail,
    }


def _client_hash(request: HttpRequest | None) -> str:
    if request is None:
        return ""
    address = request.META.get("REMOTE_ADDR", "")
    # Keyed, so the trail can link events from one address without storing the address.
    return hmac.new(settings.SECRET_KEY.encode(), address.encode(), hashlib.sha256).hexdigest()[:32]


def audit_record(
    *,
    action: str,
    request: HttpRequest | None = None,
    user=None,
    object_type: str = "",
    object_id: str | int = "",
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    user = user if user is not None else getattr(request, "user", None)
    authenticated = bool(user is not None and user.is_authenticated)
    with transaction.atomic():
        head, _ = AuditHead.objects.select_for_update().get_or_create(pk=1)
        event = AuditEvent(
            seq=head.seq + 1,
            at=timezone.now(),
            actor_id=user.pk if authenticated else None,
            actor_role=user_role(user) if user is not None else "system",
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            client=_client_hash(request),
            detail=detail or {},
            prev_hash=head.hash,
        )
        event.hash = event_digest(prev_hash=head.hash, fields=event_fields(event))
        event.save()
        head.seq, head.hash = event.seq, event.hash
        head.save()
    return event
