"""Reads for staff drafting: which drafts and templates a user sees."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet

from portal.accounts.roles import Role
from portal.accounts.selectors import user_role
from portal.drafting.models import Draft, DraftTemplate


def _sees_all(user) -> bool:
    # Admins oversee everyone's drafts; staff and reviewers see their own.
    return user_role(user) == Role.ADMIN.value


def drafts_for(user) -> QuerySet[Draft]:
    drafts = Draft.objects.select_related("template", "author")
    return drafts if _sees_all(user) else drafts.filter(author=user)


def draft_for(*, public_id: uuid.UUID, user) -> Draft | None:
    """The draft behind ``public_id`` if ``user`` may open it (its author, or an admin)."""
    return drafts_for(user).filter(public_id=public_id).first()


def templates_offered() -> QuerySet[DraftTemplate]:
    return DraftTemplate.objects.filter(active=True)
