"""The knowledge managers' pages: documents (multi-file upload with live progress), one document's
versions (supersede, retry, delete), collections, and index / ingestion health.

Thin views: each parses input, calls one service in portal.knowledge.services (the same ones the
API and the commands call) or one selector, and renders. The pages' JavaScript uploads and polls
through /api/v1/ (portal/knowledge/api.py), the one HTTP surface for scripts and services.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal.accounts.roles import MANAGE_KNOWLEDGE
from portal.core.access import requires
from portal.knowledge.forms import (
    AUDIENCE_LABELS,
    CollectionForm,
    DocumentTitleForm,
    UploadForm,
    VersionForm,
)
from portal.knowledge.models import Collection, Document, DocumentVersion
from portal.knowledge.selectors import (
    collections_overview,
    documents_overview,
    ingestion_health,
    live_versions,
    planted_by_version,
)
from portal.knowledge.services import (
    DocumentTitleError,
    UploadResult,
    collection_create,
    document_delete,
    document_title_update,
    document_upload_file,
    version_retry,
)


def _report(request: HttpRequest, result: UploadResult) -> None:
    if not result.ok:
        messages.error(request, f"{result.filename}: {result.error_message}")
    elif result.duplicate_of is not None:
        messages.info(
            request, _("%(name)s: identical to an existing version.") % {"name": result.filename}
        )
    else:
        # knowledge.services records the upload in the audit trail, for every caller.
        messages.success(request, _("%(name)s: queued for ingestion.") % {"name": result.filename})


@requires(MANAGE_KNOWLEDGE)
@require_http_methods(["GET", "POST"])
def documents(request: HttpRequest) -> HttpResponse:
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        for upload in form.cleaned_data["files"]:
            _report(
                request,
                document_upload_file(
                    collection=form.cleaned_data["collection"],
                    upload=upload,
                    effective_from=form.cleaned_data["effective_from"],
                    expires_on=form.cleaned_data["expires_on"],
                    user=request.user,
                ),
            )
        return redirect("knowledge:documents")
    collection = request.GET.get("collection", "")
    return render(
        request,
        "knowledge/documents.html",
        {
            "form": form,
            "documents": documents_overview(collection_slug=collection or None),
            "collections": Collection.objects.all(),
            "selected": collection,
            "max_files": settings.UPLOAD_MAX_FILES,
            "max_bytes": settings.UPLOAD_MAX_BYTES,
        },
    )


@requires(MANAGE_KNOWLEDGE)
@require_POST
def document_remove(request: HttpRequest, pk: int) -> HttpResponse:
    document = get_object_or_404(Document, pk=pk, deleted_at__isnull=True)
    document_delete(document=document, user=request.user)
    messages.success(request, _("%(title)s: removed from answers.") % {"title": document.title})
    return redirect("knowledge:documents")


@requires(MANAGE_KNOWLEDGE)
@require_http_methods(["GET", "POST"])
def document_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Version history with each version's ingestion log, timings and errors; a new version
    (supersede) is uploaded here."""
    document = get_object_or_404(Document.objects.select_related("collection"), pk=pk)
    form = VersionForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and document.deleted_at is None and form.is_valid():
        upload = form.cleaned_data["file"]
        _report(
            request,
            document_upload_file(
                collection=document.collection,
                document=document,
                upload=upload,
                effective_from=form.cleaned_data["effective_from"],
                expires_on=form.cleaned_data["expires_on"],
                user=request.user,
            ),
        )
        return redirect("knowledge:document_detail", pk=document.pk)
    versions = document.versions.select_related("job").order_by("-number")
    live = set(live_versions().filter(document=document).values_list("pk", flat=True))
    flagged = planted_by_version(document)
    for version in versions:
        version.flagged = flagged.get(version.pk, [])
    return render(
        request,
        "knowledge/document_detail.html",
        {"document": document, "versions": versions, "live": live, "form": form},
    )


@requires(MANAGE_KNOWLEDGE)
@require_POST
def version_retry_view(request: HttpRequest, pk: int) -> HttpResponse:
    version = get_object_or_404(DocumentVersion, pk=pk, job__status="failed")
    version_retry(version=version)
    messages.success(request, _("Version %(n)d queued again.") % {"n": version.number})
    return redirect("knowledge:document_detail", pk=version.document_id)


@requires(MANAGE_KNOWLEDGE)
@require_http_methods(["GET", "POST"])
def collections(request: HttpRequest) -> HttpResponse:
    form = CollectionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        created = collection_create(**form.cleaned_data, user=request.user)
        messages.success(request, _("Collection %(name)s created.") % {"name": created.name})
        return redirect("knowledge:collections")
    return render(
        request,
        "knowledge/collections.html",
        {"form": form, "collections": collections_overview(), "audiences": AUDIENCE_LABELS},
    )


@requires(MANAGE_KNOWLEDGE)
@require_GET
def health(request: HttpRequest) -> HttpResponse:
    """Index and ingestion health: the checks of `manage.py check_index`, job counts, failures."""
    return render(request, "knowledge/health.html", {"health": ingestion_health()})


# --- A version's passages (issue 23): what retrieval can return, as stored ----------------------
CHUNKS_PER_PAGE = 25


@requires(MANAGE_KNOWLEDGE)
@require_GET
def version_chunks_view(request: HttpRequest, pk: int) -> HttpResponse:
    """One version's passages in order, with their section path, pages and whether the
    planted-instruction detector flagged a sentence in them (kept out of answers), paginated."""
    from django.core.paginator import Paginator

    from portal.knowledge.selectors import chunk_segments, version_chunks

    version = get_object_or_404(
        DocumentVersion.objects.select_related("document__collection"), pk=pk
    )
    page = Paginator(version_chunks(version), CHUNKS_PER_PAGE).get_page(request.GET.get("page"))
    for chunk in page:
        chunk.segments = chunk_segments(chunk)
    live = live_versions().filter(pk=version.pk).exists()
    return render(
        request,
        "knowledge/chunks.html",
        {"version": version, "document": version.document, "page": page, "live": live},
    )


# --- A document's title (issue 23): taken from the file, editable here -------------------------
@requires(MANAGE_KNOWLEDGE)
@require_POST
def document_title_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Rename a document; the new title is audited and kept when later versions are ingested."""
    document = get_object_or_404(Document, pk=pk, deleted_at__isnull=True)
    form = DocumentTitleForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect("knowledge:document_detail", pk=document.pk)
    try:
        document_title_update(
            document=document, title=form.cleaned_data["title"], user=request.user
        )
    except DocumentTitleError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Title saved."))
    return redirect("knowledge:document_detail", pk=document.pk)
