"""Reading answers back: who may see one, and its public shape."""

from __future__ import annotations

import uuid

from portal.knowledge.models import Document
from portal.knowledge.selectors import collections_visible_to
from portal.qa.models import Answer, AnswerStatus
from portal.qa.services import citation_payload


def answer_for_reader(*, public_id: uuid.UUID, user) -> Answer | None:
    """The answer behind a come-back link. Anonymous questions are readable by whoever holds the
    (unguessable) link; a signed-in asker's answer only by that user or a reviewer, because it
    may quote collections only they can see."""
    answer = Answer.objects.filter(public_id=public_id).prefetch_related("citations").first()
    if answer is None:
        return None
    if answer.asked_by_id is None:
        return answer
    if user.is_authenticated and (
        user.pk == answer.asked_by_id or user.has_perm("accounts.review_answers")
    ):
        return answer
    return None


def answer_payload(answer: Answer) -> dict:
    """What a reader (or API client) gets: the published sentences and their citations only
    once the answer is public; a status and guidance otherwise."""
    public = answer.status == AnswerStatus.ANSWERED
    return {
        "answer_id": str(answer.public_id),
        "status": answer.status,
        "refusal_reason": answer.refusal_reason or None,
        "language": answer.language,
        "ai_generated": True,
        "sentences": answer.sentences if public else [],
        "text": answer.published_text if public else "",
        "citations": (
            {c.label: citation_payload(c) for c in answer.citations.all()} if public else {}
        ),
        "guidance": answer.guidance,
        "emergency_notice": answer.emergency_notice,
        "model_unavailable": answer.model_unavailable,
        "backend": answer.backend,
        "created_at": answer.created_at.isoformat(),
    }


def source_document_for_reader(*, document_id: int, user) -> Document | None:
    """A cited document, if it is not withdrawn and its collection is visible to ``user``."""
    return (
        Document.objects.filter(
            pk=document_id,
            deleted_at__isnull=True,
            collection__in=collections_visible_to(user),
        )
        .select_related("collection")
        .first()
    )
