"""Reads for the knowledge base: what is live, and who may see which collection."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
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


# --- Admin pages (issue 7 part 2): overviews and health ----------------------------------------
def documents_overview(*, collection_slug: str | None = None) -> QuerySet:
    """Live (not deleted) documents with their versions and jobs, for the documents page."""
    from portal.knowledge.models import Document

    docs = Document.objects.filter(deleted_at__isnull=True)
    if collection_slug:
        docs = docs.filter(collection__slug=collection_slug)
    return docs.select_related("collection").prefetch_related("versions__job").order_by("title")


def collections_overview() -> QuerySet[Collection]:
    """Every collection with its count of documents (not deleted) and of live versions."""
    return Collection.objects.annotate(
        n_documents=Count("documents", filter=Q(documents__deleted_at__isnull=True), distinct=True),
        n_live=Count(
            "documents__versions",
            filter=Q(documents__versions__in=live_versions()),
            distinct=True,
        ),
    ).order_by("name")


@dataclass(frozen=True)
class IngestionHealth:
    checks: list  # IndexCheck per dense model, then BM25 (as `manage.py check_index`)
    jobs_by_status: dict[str, int]
    stuck: list  # running or queued jobs past INGEST_STUCK_AFTER_S
    failed: list  # the most recent failed jobs
    live_versions: int
    live_chunks: int

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks) and not self.stuck


def ingestion_health(*, failed_limit: int = 20) -> IngestionHealth:
    """What the health page shows. Reading the index files costs one load per index, the same
    work `manage.py check_index` does, so the page is for people, not for a load balancer."""
    from datetime import timedelta

    from django.conf import settings

    from portal.knowledge.indexing import index_check, keyword_index_check
    from portal.knowledge.models import ChunkEmbedding, IngestionJob, JobStatus, VectorIndex

    models = set(VectorIndex.objects.values_list("model", flat=True))
    models |= set(ChunkEmbedding.objects.values_list("model", flat=True).distinct())
    models.add(settings.EMBEDDING_MODEL)
    checks = [index_check(model=m) for m in sorted(models)] + [keyword_index_check()]
    by_status = IngestionJob.objects.values("status").annotate(n=Count("pk"))
    counts = {row["status"]: row["n"] for row in by_status}
    cutoff = timezone.now() - timedelta(seconds=settings.INGEST_STUCK_AFTER_S)
    stuck = list(
        IngestionJob.objects.filter(
            Q(status=JobStatus.RUNNING, heartbeat_at__lt=cutoff)
            | Q(status=JobStatus.QUEUED, created_at__lt=cutoff)
        ).select_related("version__document")[:50]
    )
    failed = list(
        IngestionJob.objects.filter(status=JobStatus.FAILED)
        .select_related("version__document")
        .order_by("-finished_at", "-created_at")[:failed_limit]
    )
    return IngestionHealth(
        checks=checks,
        jobs_by_status={s: counts.get(s, 0) for s in JobStatus.values},
        stuck=stuck,
        failed=failed,
        live_versions=live_versions().count(),
        live_chunks=live_chunks().count(),
    )


def groups_mentioned(
    *, versions: set[tuple[int, int]], terms: dict[str, tuple[str, ...]]
) -> dict[tuple[int, int], frozenset[str]]:
    """For each (document id, version number) pair, the keys of ``terms`` whose words occur
    (case-insensitive) in one of its chunks; one query per key, however long the documents."""
    if not versions:
        return {}
    which = Q()
    for document_id, number in versions:
        which |= Q(version__document_id=document_id, version__number=number)
    found: dict[tuple[int, int], frozenset[str]] = {}
    for key, words in terms.items():
        mentions = Q()
        for word in words:
            mentions |= Q(text__icontains=word)
        hits = (
            Chunk.objects.filter(which)
            .filter(mentions)
            .order_by()
            .values_list("version__document_id", "version__number")
            .distinct()
        )
        for hit in hits:
            found[hit] = found.get(hit, frozenset()) | {key}
    return found


def planted_by_version(document) -> dict[int, list[dict]]:
    """{version id: [{"position", "text", "score"}]}: the sentences ingestion flagged as
    addressed to an AI in each version of ``document`` (shown to admins on its page)."""
    flagged: dict[int, list[dict]] = {}
    rows = (
        Chunk.objects.filter(version__document=document)
        .exclude(planted=[])
        .order_by("version_id", "position")
        .values_list("version_id", "position", "planted")
    )
    for version_id, position, spans in rows:
        for span in spans:
            flagged.setdefault(version_id, []).append(
                {"position": position, "text": span["text"], "score": span["score"]}
            )
    return flagged


# --- A version's passages (the admin's chunk page) ---------------------------------------------
def version_chunks(version) -> QuerySet[Chunk]:
    """A version's passages in document order (paginated by the page)."""
    return Chunk.objects.filter(version=version).order_by("position")


def chunk_segments(chunk: Chunk) -> list[tuple[str, bool]]:
    """The chunk's stored text as (text, flagged) runs: the sentences the planted-instruction
    detector flagged are marked where they stand, as retrieval cuts them out."""
    spans = sorted((s["start"], s["end"]) for s in chunk.planted)
    segments: list[tuple[str, bool]] = []
    at = 0
    for start, end in spans:
        start, end = max(start, at), min(end, len(chunk.text))
        if start >= end:
            continue
        if start > at:
            segments.append((chunk.text[at:start], False))
        segments.append((chunk.text[start:end], True))
        at = end
    if at < len(chunk.text):
        segments.append((chunk.text[at:], False))
    return segments


# --- Whose agencies a refusal names (portal/qa/agencies.py) --------------------------------------
def document_jurisdictions(document_ids: list[int]) -> dict[int, str]:
    """{document id: its collection's jurisdiction ("" when the collection has none)}."""
    return dict(
        Collection.objects.filter(documents__pk__in=set(document_ids)).values_list(
            "documents__pk", "jurisdiction"
        )
    )
