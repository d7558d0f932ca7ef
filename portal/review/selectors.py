"""The review queue: held answers, oldest first, with their age against the review deadline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from portal.knowledge.models import Chunk
from portal.knowledge.selectors import groups_mentioned
from portal.qa.models import Answer, AnswerStatus
from portal.qa.verify import DOCUMENT_GROUP_TERMS


@dataclass(frozen=True)
class QueueItem:
    answer: Answer
    age: timedelta
    overdue: bool
    asked_again: int = 0  # later askers of the same question waiting on this item

    @property
    def age_hours(self) -> float:
        return round(self.age.total_seconds() / 3600, 1)


def review_queue() -> list[QueueItem]:
    now = timezone.now()
    deadline = timedelta(hours=settings.REVIEW_DEADLINE_HOURS)
    # Repeats of a question already in the queue are settled with it, so they are not items.
    held = (
        Answer.objects.filter(status=AnswerStatus.HELD, same_as__isnull=True)
        .annotate(asked_again=Count("repeats", filter=Q(repeats__status=AnswerStatus.HELD)))
        .order_by("created_at")
    )
    return [
        QueueItem(
            answer=a,
            age=now - a.created_at,
            overdue=now - a.created_at > deadline,
            asked_again=a.asked_again,
        )
        for a in held
    ]


def answer_passages(answer: Answer) -> list[dict]:
    """The passages the model was given for this answer, labelled as in its prompt.

    Read from the chunks when they still exist, else from the citations' stored quotes."""
    ids = [r["chunk_id"] for r in answer.retrieved]
    chunks = {c.pk: c for c in Chunk.objects.filter(pk__in=ids).select_related("version__document")}
    quotes = {c.label: c for c in answer.citations.all()}
    implied = groups_mentioned(
        versions={(c.version.document_id, c.version.number) for c in chunks.values()},
        terms=DOCUMENT_GROUP_TERMS,
    )
    out = []
    for row in answer.retrieved:
        chunk = chunks.get(row["chunk_id"])
        citation = quotes.get(row["label"])
        if chunk is not None:
            out.append(
                {
                    "label": row["label"],
                    "chunk_id": chunk.pk,
                    "title": chunk.version.document.title,
                    "text": chunk.text,
                    # Groups its document names elsewhere (verify.DOCUMENT_GROUP_TERMS), as a list
                    # because the passages are also stored as JSON with the review decision.
                    "implied": sorted(
                        implied.get((chunk.version.document_id, chunk.version.number), ())
                    ),
                }
            )
        elif citation is not None:
            out.append(
                {
                    "label": row["label"],
                    "chunk_id": row["chunk_id"],
                    "title": citation.document_title,
                    "text": citation.quote,
                }
            )
    return out
