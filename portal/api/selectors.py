"""Reads for API tokens: the user a presented token acts as."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from portal.api.models import ApiToken
from portal.api.services import token_hash

# last_used_at is a hint for owners, not an audit record: write it at most this often per token
# so a busy service does not turn every read into a row update.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def api_token_user(secret: str):
    """The active owner of ``secret``, or None for an unknown, revoked or inactive-owner token."""
    if not secret:
        return None
    token = (
        ApiToken.objects.filter(token_hash=token_hash(secret), revoked_at__isnull=True)
        .select_related("owner")
        .first()
    )
    if token is None or not token.owner.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.owner
