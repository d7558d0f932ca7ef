"""Reading answers back: who may see one, and its public shape."""

from __future__ import annotations

import uuid

from portal.knowledge.models import Document
from portal.knowledge.selectors import collections_visible_to
from portal.qa.engine.claims import published_text
from portal.qa.models import Answer, AnswerStatus, Citation
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


def citations_hidden_from(answer: Answer, user) -> set[str]:
    """Labels of the answer's citations whose document sits, today, in a collection ``user`` may
    not see. Access is checked when the answer is shown, not only when it was written: a
    collection turned staff-only after publication must stop showing its passages in old answers
    (a citation whose document row is gone keeps its snapshot, like a deleted document's)."""
    citations: list[Citation] = list(answer.citations.all())
    if not citations:
        return set()
    collection_of = dict(
        Document.objects.filter(pk__in={c.document_id_snapshot for c in citations}).values_list(
            "pk", "collection_id"
        )
    )
    visible = set(collections_visible_to(user).values_list("pk", flat=True))
    return {
        c.label
        for c in citations
        if c.document_id_snapshot in collection_of
        and collection_of[c.document_id_snapshot] not in visible
    }


def answer_payload(answer: Answer, *, reader=None) -> dict:
    """What a reader (or API client) gets: the published sentences and their citations only
    once the answer is public; a status and guidance otherwise.

    With ``reader``, citations of collections the reader may no longer see are left out, and so
    is every sentence that no remaining citation supports (``sources_withheld`` counts them)."""
    public = answer.status == AnswerStatus.ANSWERED
    hidden = citations_hidden_from(answer, reader) if public and reader is not None else set()
    sentences = answer.sentences if public else []
    text = answer.published_text if public else ""
    if hidden:
        kept = []
        for sentence in sentences:
            labels = [label for label in sentence.get("citations", []) if label not in hidden]
            if labels:
                kept.append({**sentence, "citations": labels})
        sentences, text = kept, published_text(kept)
    return {
        "answer_id": str(answer.public_id),
        "status": answer.status,
        "refusal_reason": answer.refusal_reason or None,
        "language": answer.language,
        "ai_generated": True,
        "sentences": sentences,
        "text": text,
        "citations": (
            {c.label: citation_payload(c) for c in answer.citations.all() if c.label not in hidden}
            if public
            else {}
        ),
        "sources_withheld": len(hidden),
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
