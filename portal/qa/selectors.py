"""Reading answers back: who may see one, and its public shape."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)

from portal.knowledge.models import Document
from portal.knowledge.selectors import collections_visible_to, live_versions
from portal.qa.engine.claims import published_text
from portal.qa.models import Answer, AnswerStatus, Citation
from portal.qa.services import citation_payload
from textkit import language_of


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
    is every sentence that no remaining citation supports (``sources_withheld`` counts them);
    so are a refusal's closest sources in such collections."""
    public = answer.status == AnswerStatus.ANSWERED
    hidden = citations_hidden_from(answer, reader) if public and reader is not None else set()
    closest = answer.closest_sources if answer.status == AnswerStatus.REFUSED else []
    if closest and reader is not None:
        closest = closest_sources_for_reader(answer, reader)
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
        # A refusal's closest sources, those ``reader`` may see: each a document to link.
        "closest_sources": closest,
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


CHANGE_KINDS = ("newer", "withdrawn")


def citations_with_currency(citations: QuerySet[Citation]) -> QuerySet[Citation]:
    """``citations`` annotated with how their source stands today: the one rule, in SQL, so the
    answer page's notices and the admins' list of outdated answers cannot disagree.

    ``change`` is "withdrawn" when the cited document was deleted (``withdrawn_at``), "newer"
    when the version in effect today (``current_version``) is later than the cited one, else "".
    A document with no version in effect today (its newest expired) is not "newer": nothing
    replaced what was cited."""
    document = Document.objects.filter(pk=OuterRef("document_id_snapshot"))
    current = (
        live_versions().filter(document_id=OuterRef("document_id_snapshot")).order_by("-number")
    )
    return citations.annotate(
        withdrawn_at=Subquery(document.values("deleted_at")[:1]),
        current_version=Subquery(current.values("number")[:1]),
    ).annotate(
        change=Case(
            When(withdrawn_at__isnull=False, then=Value("withdrawn")),
            When(current_version__gt=F("version_number"), then=Value("newer")),
            default=Value(""),
            output_field=CharField(),
        ),
    )


def citation_currency(citation: Citation) -> CitationCurrency | None:
    """A citation from ``citations_with_currency`` as a CitationCurrency (None: unchanged)."""
    if not citation.change:
        return None
    return CitationCurrency(
        citation.change,
        citation.document_id_snapshot,
        withdrawn_at=citation.withdrawn_at if citation.change == "withdrawn" else None,
        current_version=citation.current_version if citation.change == "newer" else None,
    )


def citations_currency(citations: list[Citation]) -> dict[str, CitationCurrency | None]:
    """For each citation label, whether its source changed since the answer was written (None:
    the cited version is still the one in effect). One query, however many citations."""
    rows = citations_with_currency(Citation.objects.filter(pk__in=[c.pk for c in citations]))
    found = {row.label: citation_currency(row) for row in rows}
    return {c.label: found.get(c.label) for c in citations}


def answers_citing_changed_sources(
    *, change: str = "", collection_slug: str = ""
) -> QuerySet[Citation]:
    """For the admins' page: the citations of published answers whose source changed since
    (a newer version in effect, or withdrawn), newest answers first, with their answer. Filter
    by ``change`` ("newer" or "withdrawn") and by the cited document's collection."""
    citations = Citation.objects.filter(answer__status=AnswerStatus.ANSWERED)
    if collection_slug:
        in_collection = Document.objects.filter(collection__slug=collection_slug)
        citations = citations.filter(document_id_snapshot__in=in_collection.values("pk"))
    citations = citations_with_currency(citations)
    citations = (
        citations.filter(change=change) if change in CHANGE_KINDS else citations.exclude(change="")
    )
    return citations.select_related("answer").order_by(
        F("answer__published_at").desc(nulls_last=True), "answer_id", "label"
    )


# --- Refusals: the closest sources they name, as links -----------------------------------------
def closest_sources_for_reader(answer: Answer, user) -> list[dict]:
    """The documents a refusal names as the closest sources found ({"document_id", "title"}),
    those whose collection ``user`` may see today only: the refusal's page links each to its
    source page (withdrawn ones included, whose page says so)."""
    named = [s for s in answer.closest_sources if s.get("document_id")]
    if not named:
        return []
    visible = set(
        Document.objects.filter(
            pk__in={s["document_id"] for s in named},
            collection__in=collections_visible_to(user),
        ).values_list("pk", flat=True)
    )
    return [s for s in named if s["document_id"] in visible]


def text_with_links(text: str, sources: list[dict]) -> list[tuple[str, int | None]]:
    """``text`` as (piece, document id or None) runs, each source's title where it first
    occurs marked with its document, so a template can link it without marking up the text."""
    runs: list[tuple[str, int | None]] = []
    rest = text
    while rest:
        hits = [(rest.find(s["title"]), s) for s in sources if s.get("title")]
        hits = [(at, s) for at, s in hits if at >= 0]
        if not hits:
            break
        at, source = min(hits, key=lambda hit: (hit[0], -len(hit[1]["title"])))
        if at:
            runs.append((rest[:at], None))
        runs.append((source["title"], source["document_id"]))
        rest = rest[at + len(source["title"]) :]
        sources = [s for s in sources if s is not source]
    if rest:
        runs.append((rest, None))
    return runs


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


def examples_for_reader(questions: list[str], *, language: str) -> list[tuple[str, str]]:
    """A collection's example questions as (question, language), those in the reader's
    language first (each question's language by textkit's rule), a few at most."""
    tagged = [(q, language_of(q)) for q in questions if isinstance(q, str) and q.strip()]
    tagged.sort(key=lambda item: item[1] != language)  # stable: the admin's order within each
    return tagged[:EXAMPLES_PER_COLLECTION]


def collections_for_reader(*, user, language: str) -> list[CollectionCard]:
    """The collections ``user`` may ask about that hold documents in use, with their document
    counts and a few of their example questions (``Collection.example_questions``, which admins
    edit and ``manage.py load_demo`` fills for the demo)."""
    language = "zh" if language.lower().startswith("zh") else "en"
    live = live_versions().filter(document_id=OuterRef("pk"))
    in_use = Document.objects.filter(deleted_at__isnull=True).filter(Exists(live))
    visible = list(
        collections_visible_to(user)
        .annotate(n_documents=Count("documents", filter=Q(documents__in=in_use), distinct=True))
        .filter(n_documents__gt=0)
        .order_by("name")
    )
    titles: dict[int, list[str]] = {}
    for collection_id, title in (
        in_use.filter(collection__in=[c.pk for c in visible if not c.description])
        .order_by("collection_id", "title")
        .values_list("collection_id", "title")
    ):
        titles.setdefault(collection_id, []).append(title)
    return [
        CollectionCard(
            slug=c.slug,
            name=c.name,
            description=c.description,
            n_documents=c.n_documents,
            titles=titles.get(c.pk, [])[:EXAMPLES_PER_COLLECTION],
            examples=examples_for_reader(c.example_questions or [], language=language),
        )
        for c in visible
    ]
