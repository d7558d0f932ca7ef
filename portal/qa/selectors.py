"""Reading answers back: who may see one, and its public shape."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Q

from portal.knowledge.models import Document
from portal.knowledge.selectors import collection_examples, collections_visible_to, live_versions
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
    """A cited document, if its collection is visible to ``user``. Withdrawn (deleted)
    documents are included: old answers cite them, and their page says they were withdrawn."""
    return (
        Document.objects.filter(pk=document_id, collection__in=collections_visible_to(user))
        .select_related("collection")
        .first()
    )


@dataclass(frozen=True)
class CitationCurrency:
    """How a cited source stands today: ``withdrawn`` (the document was deleted, at
    ``withdrawn_at``) or ``newer`` (a later version, ``current_version``, is in effect)."""

    kind: str
    document_id: int
    withdrawn_at: dt.datetime | None = None
    current_version: int | None = None


def citations_currency(citations: list[Citation]) -> dict[str, CitationCurrency | None]:
    """For each citation label, whether its source changed since the answer was written (None:
    the cited version is still the one in effect). Two queries, however many citations."""
    ids = {c.document_id_snapshot for c in citations}
    withdrawn = dict(
        Document.objects.filter(pk__in=ids, deleted_at__isnull=False).values_list(
            "pk", "deleted_at"
        )
    )
    current = dict(
        live_versions()
        .filter(document_id__in=ids - set(withdrawn))
        .values_list("document_id", "number")
    )
    found: dict[str, CitationCurrency | None] = {}
    for c in citations:
        doc = c.document_id_snapshot
        if doc in withdrawn:
            found[c.label] = CitationCurrency("withdrawn", doc, withdrawn_at=withdrawn[doc])
        elif current.get(doc, 0) > c.version_number:
            found[c.label] = CitationCurrency("newer", doc, current_version=current[doc])
        else:
            found[c.label] = None
    return found


# --- The reader's first screen: what the knowledge covers -------------------------------------
EXAMPLES_PER_COLLECTION = 3


@dataclass(frozen=True)
class CollectionCard:
    slug: str
    name: str
    description: str
    n_documents: int
    titles: list[str]  # a few of its documents, when it has no description
    examples: list[tuple[str, str]]  # (question, language), the reader's language first


def collections_for_reader(*, user, language: str) -> list[CollectionCard]:
    """The collections ``user`` may ask about that hold documents in use, with their document
    counts and a few example questions (``collection_examples``: the demo questions, until
    collections carry their own)."""
    language = "zh" if language.lower().startswith("zh") else "en"
    live = live_versions().filter(document_id=OuterRef("pk"))
    in_use = Document.objects.filter(deleted_at__isnull=True).filter(Exists(live))
    visible = list(
        collections_visible_to(user)
        .annotate(n_documents=Count("documents", filter=Q(documents__in=in_use), distinct=True))
        .filter(n_documents__gt=0)
        .order_by("name")
    )
    examples = collection_examples()
    titles: dict[int, list[str]] = {}
    for collection_id, title in (
        in_use.filter(collection__in=[c.pk for c in visible if not c.description])
        .order_by("collection_id", "title")
        .values_list("collection_id", "title")
    ):
        titles.setdefault(collection_id, []).append(title)
    cards = []
    for c in visible:
        asked = sorted(examples.get(c.slug, []), key=lambda item: item[1] != language)
        cards.append(
            CollectionCard(
                slug=c.slug,
                name=c.name,
                description=c.description,
                n_documents=c.n_documents,
                titles=titles.get(c.pk, [])[:EXAMPLES_PER_COLLECTION],
                examples=asked[:EXAMPLES_PER_COLLECTION],
            )
        )
    return cards
