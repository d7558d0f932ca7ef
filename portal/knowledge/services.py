"""Writes for the knowledge base: the admin UI, the API and the commands all call these."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from pathlib import PurePath

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.text import slugify

from ingestion.declared import check_declared_type
from ingestion.errors import FileTooLarge, IngestionError
from ingestion.filenames import safe_filename
from ingestion.sniff import detect_media_type
from portal.audit.models import Outcome
from portal.audit.services import audit_record
from portal.core.jobs import enqueue_on_commit
from portal.knowledge.models import (
    Audience,
    Collection,
    Document,
    DocumentVersion,
    IngestionJob,
    JobStatus,
    VersionStatus,
)

logger = logging.getLogger(__name__)


def collection_get_or_create(
    *,
    slug: str,
    name: str | None = None,
    audience: str = Audience.PUBLIC,
    languages: list[str] | None = None,
    description: str = "",
    jurisdiction: str = "",
) -> Collection:
    collection, _ = Collection.objects.get_or_create(
        slug=slugify(slug) or slug,
        defaults={
            "name": name or slug,
            "audience": audience,
            "languages": languages or [],
            "description": description,
            "jurisdiction": jurisdiction,
        },
    )
    return collection


@dataclass(frozen=True)
class UploadResult:
    """What happened to one uploaded file. ``job`` is None when nothing new was queued."""

    filename: str
    version: DocumentVersion | None
    job: IngestionJob | None
    duplicate_of: DocumentVersion | None = None
    error_code: str = ""
    error_message: str = ""

    @property
    def ok(self) -> bool:
        return not self.error_code


def _default_title(filename: str) -> str:
    stem = PurePath(filename).stem
    return stem.replace("_", " ").replace("-", " ").strip() or filename


def _document_for_upload(
    collection: Collection, title: str | None, filename: str, *, user
) -> Document:
    """The live document an upload adds a version to: the one with the given title; without a
    title, the one titled after the file name or last uploaded under the same file name (its title
    may since have come from the file's content, ``document_title_adopt``); else a new one.
    Call inside a transaction: the rows are locked so two uploads cannot create twins."""
    live = Document.objects.select_for_update(of=("self",)).filter(
        collection=collection, deleted_at__isnull=True
    )
    wanted = (title or _default_title(filename))[:300]
    found = live.filter(title=wanted).first()
    if found is None and not title:
        found = live.filter(versions__original_filename=filename).order_by("-pk").first()
    if found is not None and title and not found.title_chosen:
        # An uploader naming the derived title keeps it from now on.
        found.title_chosen = True
        found.save(update_fields=["title_chosen"])
    return found or Document.objects.create(
        collection=collection, title=wanted, title_chosen=bool(title), created_by=user
    )


def _check_declared_type(data: bytes, filename: str) -> None:
    """Refuse at upload a file whose extension contradicts its content (an HTML page named
    .docx), so the uploader hears it next to the file name and no document is created. Sniffing
    reads the first bytes or the ZIP directory only; every other problem with the content is
    reported by the parse step, on the version, as before."""
    try:
        media_type = detect_media_type(data, filename=filename)
    except IngestionError:
        return
    check_declared_type(media_type, filename)


def _check_size(size: int) -> None:
    if size > settings.UPLOAD_MAX_BYTES:
        raise FileTooLarge(
            f"The file is {size:,} bytes; the limit is {settings.UPLOAD_MAX_BYTES:,}. "
            "Split it or ask an administrator to raise UPLOAD_MAX_BYTES."
        )


def _upload_refused(
    collection: Collection, filename: str, exc: IngestionError, *, user
) -> UploadResult:
    # The code only: the message quotes the file name, which may carry personal data.
    audit_record(
        action="knowledge.upload",
        user=user,
        object_type="collection",
        object_id=collection.pk,
        outcome=Outcome.FAILED,
        detail={"error_code": exc.code},
    )
    return UploadResult(filename, None, None, error_code=exc.code, error_message=str(exc))


def document_upload_file(*, collection: Collection, upload: UploadedFile, **kwargs) -> UploadResult:
    """``document_upload`` for a file received over HTTP: the page forms and the API call this.

    Django has already spooled the request body to memory or a temporary file; this reads it in
    chunks and never past the size cap, so an oversized file is refused without being loaded
    (its declared size is checked first, the bytes actually read second).
    """
    filename = upload.name or "upload"
    try:
        _check_size(upload.size or 0)
    except IngestionError as exc:
        return _upload_refused(collection, filename, exc, user=kwargs.get("user"))
    cap = settings.UPLOAD_MAX_BYTES
    parts: list[bytes] = []
    read = 0
    for chunk in upload.chunks():
        parts.append(chunk)
        read += len(chunk)
        if read > cap:  # one chunk past the cap is enough for document_upload to refuse it
            break
    return document_upload(collection=collection, data=b"".join(parts), filename=filename, **kwargs)


def document_upload(
    *,
    collection: Collection,
    data: bytes,
    filename: str,
    title: str | None = None,
    document: Document | None = None,
    effective_from: dt.date | None = None,
    expires_on: dt.date | None = None,
    user=None,
    enqueue: bool = True,
) -> UploadResult:
    """Store an uploaded file as a new version of its document and queue its ingestion.

    The document is ``document`` when given, else the live document with the same title in the
    collection, else a new one. Identical bytes already stored as a version of a live document of
    the collection are not ingested again. Bad input returns an UploadResult with an error and
    changes nothing.
    """
    try:
        clean_name = safe_filename(filename)
        _check_size(len(data))
        _check_declared_type(data, clean_name)
    except IngestionError as exc:
        return _upload_refused(collection, filename, exc, user=user)

    digest = hashlib.sha256(data).hexdigest()
    existing = (
        DocumentVersion.objects.filter(
            sha256=digest,
            document__collection=collection,
            document__deleted_at__isnull=True,
        )
        .exclude(status=VersionStatus.FAILED)
        .first()
    )
    if existing is not None:
        audit_record(
            action="knowledge.upload",
            user=user,
            object_type="document_version",
            object_id=existing.pk,
            detail={"duplicate_of": existing.pk, "collection": collection.slug},
        )
        return UploadResult(clean_name, None, None, duplicate_of=existing)

    with transaction.atomic():
        if document is None:
            document = _document_for_upload(collection, title, clean_name, user=user)
        else:
            document = Document.objects.select_for_update().get(pk=document.pk)
        number = (document.versions.aggregate(m=Max("number"))["m"] or 0) + 1
        version = DocumentVersion(
            document=document,
            number=number,
            original_filename=clean_name,
            sha256=digest,
            size_bytes=len(data),
            effective_from=effective_from or timezone.localdate(),
            expires_on=expires_on,
            uploaded_by=user,
        )
        version.file.save(clean_name, ContentFile(data), save=False)
        version.save()
        job = IngestionJob.objects.create(version=version)
        # Inside the transaction: the version and its audit event commit (or roll back) together.
        # Ids, sizes and hashes only; titles and file names can carry personal data.
        audit_record(
            action="knowledge.upload" if number == 1 else "knowledge.version_add",
            user=user,
            object_type="document_version",
            object_id=version.pk,
            detail={
                "document_id": document.pk,
                "version": number,
                "collection": collection.slug,
                "bytes": len(data),
                "sha256": digest,
            },
        )
        if enqueue:
            from portal.knowledge.tasks import ingest_version_task

            enqueue_on_commit(ingest_version_task, job.pk)
    return UploadResult(clean_name, version, job)


def document_delete(*, document: Document, user=None) -> None:
    """Take a document out of retrieval now; keep its rows so old citations still resolve.

    Retrieval filters deleted documents at query time, so the effect is immediate; the index
    sync queued here then drops the vectors from FAISS.
    """
    from portal.knowledge.tasks import sync_indexes_task

    with transaction.atomic():
        removed = Document.objects.filter(pk=document.pk, deleted_at__isnull=True).update(
            deleted_at=timezone.now()
        )
        if removed:  # a second delete of the same document changes nothing and is not recorded
            audit_record(
                action="knowledge.delete",
                user=user,
                object_type="document",
                object_id=document.pk,
                detail={"collection_id": document.collection_id},
            )
        enqueue_on_commit(sync_indexes_task)


def version_retry(*, version: DocumentVersion) -> IngestionJob:
    """Queue a failed version again from the start (an admin fixed a limit, say)."""
    from portal.knowledge.tasks import ingest_version_task

    with transaction.atomic():
        job = IngestionJob.objects.select_for_update().get(version=version)
        job.status = JobStatus.QUEUED
        job.attempts = 0
        job.error_code = job.error_message = ""
        job.save()
        version.status = VersionStatus.QUEUED
        version.parsed = None
        version.save(update_fields=["status", "parsed"])
        audit_record(
            action="knowledge.version_retry",
            object_type="document_version",
            object_id=version.pk,
            detail={"document_id": version.document_id, "job_id": job.pk},
        )
        enqueue_on_commit(ingest_version_task, job.pk)
    return job


def ingestion_reconcile(*, stuck_after_s: int | None = None) -> list[int]:
    """Re-enqueue jobs that stopped moving (lost message, crashed worker), fail hopeless ones.

    A queued job with no heartbeat, or a running one whose heartbeat is older than the timeout, is
    stuck. Re-enqueueing is safe because the pipeline is idempotent; ``ingestion_run`` counts the
    attempt and fails the job past INGEST_MAX_ATTEMPTS.
    """
    from portal.knowledge.tasks import ingest_version_task

    cutoff = timezone.now() - timedelta(seconds=stuck_after_s or settings.INGEST_STUCK_AFTER_S)
    stuck = IngestionJob.objects.filter(
        Q(status=JobStatus.RUNNING, heartbeat_at__lt=cutoff)
        | Q(status=JobStatus.QUEUED, created_at__lt=cutoff, heartbeat_at__isnull=True)
        | Q(status=JobStatus.QUEUED, heartbeat_at__lt=cutoff)
    )
    requeued = []
    for job_id in stuck.values_list("pk", flat=True):
        # Touch the heartbeat so the next reconcile pass does not enqueue it again immediately.
        IngestionJob.objects.filter(pk=job_id).update(heartbeat_at=timezone.now())
        enqueue_on_commit(ingest_version_task, job_id)
        requeued.append(job_id)
    if requeued:
        logger.warning("re-enqueued stuck ingestion jobs: %s", requeued)
    return requeued


# --- Admin pages (issue 7 part 2) --------------------------------------------------------------
def collection_create(
    *,
    name: str,
    slug: str,
    audience: str = Audience.PUBLIC,
    languages: list[str] | None = None,
    description: str = "",
    example_questions: list[str] | None = None,
    user=None,
) -> Collection:
    """A new collection (the form already checked the slug is free), recorded in the audit trail."""
    with transaction.atomic():
        collection = Collection.objects.create(
            slug=slug,
            name=name,
            audience=audience,
            languages=languages or [],
            description=description,
            example_questions=example_questions or [],
        )
        audit_record(
            action="knowledge.collection_create",
            user=user,
            object_type="collection",
            object_id=collection.pk,
            detail={"slug": collection.slug, "audience": audience},
        )
    return collection


COLLECTION_EDITABLE = (
    "name",
    "description",
    "languages",
    "audience",
    "jurisdiction",
    "example_questions",
    "groups",
)


def collection_update(
    *, collection: Collection, changed: list[str], groups=None, user=None
) -> Collection:
    """Save the fields named in ``changed`` (already set on ``collection``; the site
    administration's form does that) and, when "groups" is among them, its groups. Who may read a
    collection's documents is access control, so every change is recorded in the audit trail. The
    slug stays: links and API clients name the collection by it."""
    fields = [f for f in changed if f in COLLECTION_EDITABLE and f != "groups"]
    with transaction.atomic():
        if fields:
            collection.save(update_fields=fields)
        if "groups" in changed and groups is not None:
            collection.groups.set(groups)
        audit_record(
            action="knowledge.collection_update",
            user=user,
            object_type="collection",
            object_id=collection.pk,
            # Field names and the resulting audience, not values: descriptions are free text.
            detail={
                "fields": sorted(f for f in changed if f in COLLECTION_EDITABLE),
                "audience": collection.audience,
            },
        )
    return collection


# --- Document titles (issue 23) ----------------------------------------------------------------
TITLE_MAX_CHARS = 300


class DocumentTitleError(ValueError):
    """A title an admin asked for cannot be used; the message says why, for the form."""


def document_title_adopt(*, version: DocumentVersion, title: str | None) -> str | None:
    """Give ``version``'s document the title its content declares (``ingestion.titles``), unless
    an uploader or admin chose the current one, a later version exists, or another live document
    of the collection already has that title. Returns the title adopted, else None. Idempotent."""
    title = (title or "").strip()[:TITLE_MAX_CHARS]
    document = version.document
    if not title or document.title == title or document.deleted_at is not None:
        return None
    if document.versions.filter(number__gt=version.number).exists():
        return None
    if document.title_chosen:
        return None
    taken = Document.objects.filter(
        collection_id=document.collection_id, title=title, deleted_at__isnull=True
    ).exclude(pk=document.pk)
    if taken.exists():
        return None
    try:
        with transaction.atomic():
            # Conditional on the title read above: an admin's edit in between wins.
            changed = Document.objects.filter(
                pk=document.pk, title=document.title, title_chosen=False
            ).update(title=title)
    except IntegrityError:  # another document took the title since the check
        return None
    if not changed:
        return None
    document.title = title
    return title


def document_title_update(*, document: Document, title: str, user=None) -> Document:
    """An admin's title for ``document``, recorded in the audit trail like other knowledge edits.
    A chosen title is kept when later versions are ingested (``document_title_adopt``)."""
    clean = " ".join((title or "").split())
    if not clean:
        raise DocumentTitleError("A title is required.")
    if len(clean) > TITLE_MAX_CHARS:
        raise DocumentTitleError(f"A title has at most {TITLE_MAX_CHARS} characters.")
    if document.deleted_at is not None:
        raise DocumentTitleError("A deleted document's title cannot be changed.")
    if clean == document.title and document.title_chosen:
        return document
    taken = Document.objects.filter(
        collection_id=document.collection_id, title=clean, deleted_at__isnull=True
    ).exclude(pk=document.pk)
    if taken.exists():
        raise DocumentTitleError("Another document of this collection already has this title.")
    with transaction.atomic():
        document.title, document.title_chosen = clean, True
        try:
            with transaction.atomic():
                document.save(update_fields=["title", "title_chosen"])
        except IntegrityError as exc:
            raise DocumentTitleError(
                "Another document of this collection already has this title."
            ) from exc
        audit_record(
            action="knowledge.document_title_update",
            user=user,
            object_type="document",
            object_id=document.pk,
            # Ids only: titles can carry personal data (docs/audit.md).
            detail={"collection_id": document.collection_id},
        )
    return document
