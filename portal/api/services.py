"""Writes for API tokens: create (the clear token is returned once, never stored) and revoke."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from portal.api.models import ApiToken
from portal.audit.services import audit_record

TOKEN_PREFIX = "ca_"  # noqa: S105 - recognisable in logs and secret scanners: "cited answers"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str  # shown to the owner once; only its hash is stored


def api_token_create(*, owner, name: str, actor=None) -> IssuedToken:
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            owner=owner, name=name[:100], prefix=secret[:12], token_hash=token_hash(secret)
        )
        audit_record(
            action="api.token_create",
            user=actor,
            object_type="api_token",
            object_id=token.pk,
            detail={"owner_id": owner.pk},
        )
    return IssuedToken(token=token, secret=secret)


def api_token_revoke(*, token: ApiToken, actor=None) -> bool:
    """Revoke now; False when it already was (nothing recorded twice)."""
    with transaction.atomic():
        changed = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        if changed:
            audit_record(
                action="api.token_revoke",
                user=actor,
                object_type="api_token",
                object_id=token.pk,
                detail={"owner_id": token.owner_id},
            )
    return bool(changed)
