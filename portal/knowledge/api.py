"""/api/v1/documents and /api/v1/jobs: upload (multipart), status with ingestion progress,
versions, delete, and the jobs' progress.

The same services as the knowledge pages (portal.knowledge.services), so an upload through the
API is size-checked, deduplicated, versioned, audited and queued exactly like one from the page's
form; the documents page's JavaScript uploads and polls through these routes.
portal/api/api.py mounts the router.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from django.conf import settings
from django.db.models import Prefetch
from django.http import HttpRequest
from ninja import Field, File, Form, Query, Router, Schema, Status, UploadedFile
from ninja.errors import HttpError

from portal.accounts.roles import MANAGE_KNOWLEDGE
from portal.core.api_auth import Access
from portal.core.api_responses import Error, api_rate_limited
from portal.core.text_input import NormalizedStr
from portal.knowledge.models import Collection, Document, DocumentVersion, IngestionJob
from portal.knowledge.selectors import live_versions
from portal.knowledge.services import (
    DocumentTitleError,
    document_delete,
    document_title_update,
    document_upload_file,
)

router = Router(tags=["documents"])
MANAGE = Access(MANAGE_KNOWLEDGE)
MAX_JOBS_LISTED = 200


class JobOut(Schema):
    id: int
    status: str
    step: str
    progress_done: int
    progress_total: int
    attempts: int
    error_code: str
    error_message: str
    timings: dict[str, float]


class VersionOut(Schema):
    number: int
    status: str
    live: bool
    original_filename: str
    size_bytes: int
    sha256: str
    media_type: str
    language: str
    page_count: int | None
    effective_from: dt.date
    expires_on: dt.date | None
    created_at: dt.datetime
    job: JobOut | None


class DocumentOut(Schema):
    id: int
    title: str
    collection: str
    created_at: dt.datetime
    deleted: bool
    versions: list[VersionOut]


class UploadOut(Schema):
    filename: str
    ok: bool
    document_id: int | None
    version: int | None
    job_id: int | None
    duplicate_of_document_id: int | None
    error_code: str
    error: str


class UploadResultsOut(Schema):
    results: list[UploadOut]


def _job(job: IngestionJob | None) -> dict | None:
    if job is None:
        return None
    return {
        "id": job.pk,
        "status": job.status,
        "step": job.step,
        "progress_done": job.progress_done,
        "progress_total": job.progress_total,
        "attempts": job.attempts,
        "error_code": job.error_code,
        "error_message": job.error_message,
        "timings": job.timings or {},
    }


def _version(version: DocumentVersion, live: set[int]) -> dict:
    return {
        "number": version.number,
        "status": version.status,
        "live": version.pk in live,
        "original_filename": version.original_filename,
        "size_bytes": version.size_bytes,
        "sha256": version.sha256,
        "media_type": version.media_type,
        "language": version.language,
        "page_count": version.page_count,
        "effective_from": version.effective_from,
        "expires_on": version.expires_on,
        "created_at": version.created_at,
        "job": _job(getattr(version, "job", None)),
    }


def _documents():
    versions = DocumentVersion.objects.select_related("job").order_by("-number")
    return Document.objects.select_related("collection").prefetch_related(
        Prefetch("versions", queryset=versions)
    )


def _document(document: Document, live: set[int]) -> dict:
    return {
        "id": document.pk,
        "title": document.title,
        "collection": document.collection.slug,
        "created_at": document.created_at,
        "deleted": document.deleted_at is not None,
        "versions": [_version(v, live) for v in document.versions.all()],
    }


def _live_ids(documents) -> set[int]:
    return set(live_versions().filter(document__in=documents).values_list("pk", flat=True))


def _get(document_id: int) -> Document:
    document = _documents().filter(pk=document_id).first()
    if document is None:
        raise HttpError(404, "no such document")
    return document


@router.get("/documents", auth=MANAGE, response=list[DocumentOut])
def documents_list(request: HttpRequest, collection: str = "", include_deleted: bool = False):
    """Documents with every version and its ingestion job, newest first (at most 500)."""
    documents = _documents().order_by("-created_at")
    if collection:
        documents = documents.filter(collection__slug=collection)
    if not include_deleted:
        documents = documents.filter(deleted_at__isnull=True)
    documents = list(documents[:500])
    live = _live_ids(documents)
    return [_document(d, live) for d in documents]


@router.post(
    "/documents", auth=MANAGE, response={200: UploadResultsOut, 201: UploadResultsOut, 400: Error}
)
def documents_upload(
    request: HttpRequest,
    collection: Annotated[str, Form(description="slug of an existing collection")],
    files: Annotated[list[UploadedFile], File()],
    effective_from: Annotated[dt.date | None, Form()] = None,
    expires_on: Annotated[dt.date | None, Form()] = None,
):
    """Upload one or more files as new documents or new versions (same title) and queue them.

    201 when at least one file was queued; each result says what happened to its file."""
    limited = api_rate_limited(request, "upload")
    if limited:
        return limited
    target = Collection.objects.filter(slug=collection).first()
    if target is None:
        raise HttpError(400, f"no collection {collection!r}")
    if len(files) > settings.UPLOAD_MAX_FILES:
        raise HttpError(400, f"at most {settings.UPLOAD_MAX_FILES} files per upload")
    results = []
    for upload in files:
        # Read in chunks up to the size cap, as the page's form does (never the whole file).
        result = document_upload_file(
            collection=target,
            upload=upload,
            effective_from=effective_from,
            expires_on=expires_on,
            user=request.user,
        )
        version = result.version
        results.append(
            {
                "filename": result.filename,
                "ok": result.ok,
                "document_id": version.document_id if version else None,
                "version": version.number if version else None,
                "job_id": result.job.pk if result.job else None,
                "duplicate_of_document_id": (
                    result.duplicate_of.document_id if result.duplicate_of else None
                ),
                "error_code": result.error_code,
                "error": result.error_message,
            }
        )
    status = 201 if any(r["job_id"] for r in results) else 200
    return Status(status, {"results": results})


@router.get("/documents/{document_id}", auth=MANAGE, response={200: DocumentOut, 404: Error})
def document_status(request: HttpRequest, document_id: int):
    """One document: each version's status, whether it is live, and its job's progress."""
    document = _get(document_id)
    return _document(document, _live_ids([document]))


@router.get(
    "/documents/{document_id}/versions",
    auth=MANAGE,
    response={200: list[VersionOut], 404: Error},
)
def document_versions(request: HttpRequest, document_id: int):
    document = _get(document_id)
    live = _live_ids([document])
    return [_version(v, live) for v in document.versions.all()]


class DocumentPatchIn(Schema):
    title: NormalizedStr = Field(min_length=1, max_length=300)


@router.patch(
    "/documents/{document_id}", auth=MANAGE, response={200: DocumentOut, 404: Error, 409: Error}
)
def document_update(request: HttpRequest, document_id: int, body: DocumentPatchIn):
    """Rename a live document (audited); the title is then kept when new versions are ingested,
    instead of following the title each file declares. 409 when another live document of the
    collection has that title."""
    document = _documents().filter(pk=document_id, deleted_at__isnull=True).first()
    if document is None:
        raise HttpError(404, "no such document")
    try:
        document_title_update(document=document, title=body.title, user=request.user)
    except DocumentTitleError as exc:
        raise HttpError(409, str(exc)) from exc
    return _document(document, _live_ids([document]))


@router.delete("/documents/{document_id}", auth=MANAGE, response={204: None, 404: Error})
def document_remove(request: HttpRequest, document_id: int):
    """Take the document out of answers now (rows stay so old citations still resolve)."""
    document = Document.objects.filter(pk=document_id, deleted_at__isnull=True).first()
    if document is None:
        raise HttpError(404, "no such document")
    document_delete(document=document, user=request.user)
    return Status(204, None)


@router.get("/jobs", auth=MANAGE, response=list[JobOut])
def jobs_list(request: HttpRequest, ids: Annotated[list[int] | None, Query()] = None):
    """Ingestion jobs, newest first (at most 200); ``ids`` (repeated) narrows to those jobs, so a
    page watching its own uploads stays cheap however long the history is."""
    jobs = IngestionJob.objects.order_by("-created_at")
    if ids:
        jobs = jobs.filter(pk__in=ids[:MAX_JOBS_LISTED])
    return [_job(job) for job in jobs[:MAX_JOBS_LISTED]]


@router.get("/jobs/{job_id}", auth=MANAGE, response={200: JobOut, 404: Error})
def job_status(request: HttpRequest, job_id: int):
    job = IngestionJob.objects.filter(pk=job_id).first()
    if job is None:
        raise HttpError(404, "no such job")
    return _job(job)
