"""Reads of reader feedback."""

from __future__ import annotations

from django.db.models import Count, Q

from portal.feedback.models import Feedback


def feedback_summary(*, answer_id: int) -> dict[str, int]:
    """Counts of helpful and not-helpful verdicts on one answer (for review and evaluation
    pages, and API clients)."""
    counts = Feedback.objects.filter(answer_id=answer_id).aggregate(
        n_helpful=Count("pk", filter=Q(helpful=True)),
        n_not_helpful=Count("pk", filter=Q(helpful=False)),
    )
    return {"helpful": counts["n_helpful"], "not_helpful": counts["n_not_helpful"]}
