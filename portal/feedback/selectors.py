"""Reads of reader feedback."""

from __future__ import annotations

from django.db.models import Count, Q

from portal.feedback.models import Feedback


def feedback_for_reader(*, answer_id: int, reader_key: str) -> Feedback | None:
    return Feedback.objects.filter(answer_id=answer_id, reader_key=reader_key).first()


def feedback_summary(*, answer_id: int) -> dict[str, int]:
    """Counts of helpful and not-helpful verdicts on one answer."""
    counts = Feedback.objects.filter(answer_id=answer_id).aggregate(
        helpful=Count("pk", filter=Q(helpful=True)),
        not_helpful=Count("pk", filter=Q(helpful=False)),
    )
    return {"helpful": counts["helpful"], "not_helpful": counts["not_helpful"]}
