"""The knowledge managers' pages: documents (multi-file upload with live progress), one document's
versions (supersede, retry, delete), collections, and index / ingestion health.

Thin views: each parses input, calls one service in portal.knowledge.services (the same ones the
API and the commands call) or one selector, and renders.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal.accounts.roles import MANAGE_KNOWLEDGE
from portal.core.access import requires
from portal.knowledge.forms import AUDIENCE_LABELS, CollectionForm, UploadForm, VersionForm
from portal.knowledge.models import Collection, Document, DocumentVersion, IngestionJob
from portal.knowledge.selectors import (
    collections_overview,
    documents_overview,
    ingestion_health,
    live_versions,
    planted_by_version,
)
from portal.knowledge.services import (
    UploadResult,
    collection_create,
    document_delete,
    document_upload,
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
                document_upload(
                    collection=form.cleaned_data["collection"],
                    data=upload.read(),
                    filename=upload.name,
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
            document_upload(
                collection=document.collection,
                document=document,
                data=upload.read(),
                filename=upload.name,
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


@requires(MANAGE_KNOWLEDGE)
@require_POST
def documents_upload_api(request: HttpRequest) -> JsonResponse:
    """Multipart upload: ``collection`` (slug), one or more ``files``, optional
    ``effective_from`` / ``expires_on`` (YYYY-MM-DD); same service as the UI. The documents page
    sends one file per request so each file gets its own progress bar."""
    collection = Collection.objects.filter(slug=request.POST.get("collection", "")).first()
    files = request.FILES.getlist("files")
    if collection is None or not files:
        return JsonResponse(
            {"error": "collection (an existing slug) and files are required"}, status=400
        )
    if len(files) > settings.UPLOAD_MAX_FILES:
        return JsonResponse({"error": f"at most {settings.UPLOAD_MAX_FILES} files"}, status=400)
    dates = {}
    for name in ("effective_from", "expires_on"):
        raw = request.POST.get(name, "")
        try:
            dates[name] = parse_date(raw) if raw else None
        except ValueError:
            dates[name] = None
        if raw and dates[name] is None:
            return JsonResponse({"error": f"{name} must be a date (YYYY-MM-DD)"}, status=400)
    results = []
    for upload in files:
        result = document_upload(
            collection=collection,
            data=upload.read(),
            filename=upload.name,
            user=request.user,
            **dates,
        )
        results.append(
            {
                "filename": result.filename,
                "ok": result.ok,
                "document_id": result.version.document_id if result.version else None,
                "version_id": result.version.pk if result.version else None,
                "job_id": result.job.pk if result.job else None,
                "duplicate_of": result.duplicate_of.pk if result.duplicate_of else None,
                "error_code": result.error_code,
                "error": result.error_message,
            }
        )
    status = 201 if any(r["job_id"] for r in results) else 200
    return JsonResponse({"results": results}, status=status)


@requires(MANAGE_KNOWLEDGE)
@require_GET
def jobs_api(request: HttpRequest) -> JsonResponse:
    """Live ingestion progress for the documents page (polled). ``ids=1,2`` narrows to those
    jobs, so a page watching its own uploads stays cheap however long the history is."""
    jobs = IngestionJob.objects.select_related("version__document").order_by("-created_at")
    wanted = [int(i) for i in request.GET.get("ids", "").split(",") if i.strip().isdigit()]
    jobs = jobs.filter(pk__in=wanted[:200]) if wanted else jobs[:200]
    return JsonResponse(
        {
            "jobs": [
                {
                    "id": job.pk,
                    "document": job.version.document.title,
                    "document_id": job.version.document_id,
                    "version": job.version.number,
                    "status": job.status,
                    "step": job.step,
                    "done": job.progress_done,
                    "total": job.progress_total,
                    "error": job.error_message,
                }
                for job in jobs
            ]
        }
    )
