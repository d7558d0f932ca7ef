"""Reads of reader feedback."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q, QuerySet

from portal.feedback.models import Feedback


def feedback_summary(*, answer_id: int) -> dict[str, int]:
    """Counts of helpful and not-helpful verdicts on one answer (for review and evaluation
    pages, and API clients)."""
    counts = Feedback.objects.filter(answer_id=answer_id).aggregate(
        n_helpful=Count("pk", filter=Q(helpful=True)),
        n_not_helpful=Count("pk", filter=Q(helpful=False)),
    )
    return {"helpful": counts["n_helpful"], "not_helpful": counts["n_not_helpful"]}


def feedback_list(
    *,
    helpful: bool | None = None,
    reason: str = "",
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> QuerySet[Feedback]:
    """Feedback newest first, with its answer, narrowed by verdict, reason and the dates it
    was sent (``until`` inclusive), for the reviewers' feedback page."""
    rows = Feedback.objects.select_related("answer").order_by("-created_at", "-pk")
    if helpful is not None:
        rows = rows.filter(helpful=helpful)
    if reason:
        rows = rows.filter(reason=reason)
    if since:
        rows = rows.filter(created_at__date__gte=since)
    if until:
        rows = rows.filter(created_at__date__lte=until)
    return rows
