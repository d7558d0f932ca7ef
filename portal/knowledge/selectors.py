"""Reads for the knowledge base: what is live, and who may see which collection."""

from __future__ import annotations

import datetime as dt

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from portal.accounts.roles import VIEW_STAFF
from portal.knowledge.models import (
    Audience,
    Chunk,
    Collection,
    DocumentVersion,
    VersionStatus,
)


def live_versions(*, on: dt.date | None = None) -> QuerySet[DocumentVersion]:
    """Versions that retrieval may use on a date (see DocumentVersion's docstring for the rule)."""
    today = on or timezone.localdate()
    newer_in_effect = DocumentVersion.objects.filter(
        document=OuterRef("document"),
        number__gt=OuterRef("number"),
        status=VersionStatus.DONE,
        effective_from__lte=today,
    )
    return (
        DocumentVersion.objects.filter(
            status=VersionStatus.DONE,
            document__deleted_at__isnull=True,
            effective_from__lte=today,
        )
        .filter(Q(expires_on__isnull=True) | Q(expires_on__gt=today))
        .exclude(Exists(newer_in_effect))
    )


def live_chunks(*, on: dt.date | None = None) -> QuerySet[Chunk]:
    return Chunk.objects.filter(version__in=live_versions(on=on))


def collections_visible_to(user) -> QuerySet[Collection]:
    """Collections whose passages ``user`` may receive. Anonymous users see public ones only."""
    if not user.is_authenticated:
        return Collection.objects.filter(audience=Audience.PUBLIC)
    visible = Q(audience=Audience.PUBLIC)
    if user.has_perm(VIEW_STAFF):
        visible |= Q(audience=Audience.STAFF)
    visible |= Q(audience=Audience.GROUPS, groups__in=user.groups.all())
    return Collection.objects.filter(visible).distinct()
