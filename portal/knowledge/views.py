from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal.accounts.roles import MANAGE_KNOWLEDGE
from portal.core.access import requires
from portal.knowledge.forms import UploadForm
from portal.knowledge.models import Collection, Document, IngestionJob
from portal.knowledge.services import document_delete, document_upload


@requires(MANAGE_KNOWLEDGE)
@require_http_methods(["GET", "POST"])
def documents(request: HttpRequest) -> HttpResponse:
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        for upload in form.cleaned_data["files"]:
            result = document_upload(
                collection=form.cleaned_data["collection"],
                data=upload.read(),
                filename=upload.name,
                effective_from=form.cleaned_data["effective_from"],
                expires_on=form.cleaned_data["expires_on"],
                user=request.user,
            )
            if not result.ok:
                messages.error(request, f"{result.filename}: {result.error_message}")
            elif result.duplicate_of is not None:
                messages.info(request, f"{result.filename}: identical to an existing version.")
            else:
                # knowledge.services records the upload in the audit trail, for every caller.
                messages.success(request, f"{result.filename}: queued for ingestion.")
        return redirect("knowledge:documents")
    docs = (
        Document.objects.filter(deleted_at__isnull=True)
        .select_related("collection")
        .prefetch_related("versions__job")
    )
    return render(request, "knowledge/documents.html", {"form": form, "documents": docs})


@requires(MANAGE_KNOWLEDGE)
@require_POST
def document_remove(request: HttpRequest, pk: int) -> HttpResponse:
    document = get_object_or_404(Document, pk=pk, deleted_at__isnull=True)
    document_delete(document=document, user=request.user)
    messages.success(request, f"{document.title}: removed from answers.")
    return redirect("knowledge:documents")


@requires(MANAGE_KNOWLEDGE)
@require_GET
def document_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Version history with each version's ingestion log, timings and errors."""
    document = get_object_or_404(Document.objects.select_related("collection"), pk=pk)
    versions = document.versions.select_related("job").order_by("-number")
    return render(
        request, "knowledge/document_detail.html", {"document": document, "versions": versions}
    )


@requires(MANAGE_KNOWLEDGE)
@require_POST
def documents_upload_api(request: HttpRequest) -> JsonResponse:
    """Multipart upload: ``collection`` (slug) and one or more ``files``; same service as the UI."""
    collection = Collection.objects.filter(slug=request.POST.get("collection", "")).first()
    files = request.FILES.getlist("files")
    if collection is None or not files:
        return JsonResponse(
            {"error": "collection (an existing slug) and files are required"}, status=400
        )
    if len(files) > settings.UPLOAD_MAX_FILES:
        return JsonResponse({"error": f"at most {settings.UPLOAD_MAX_FILES} files"}, status=400)
    results = []
    for upload in files:
        result = document_upload(
            collection=collection, data=upload.read(), filename=upload.name, user=request.user
        )
        results.append(
            {
                "filename": result.filename,
                "ok": result.ok,
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
    """Live ingestion progress for the documents page (polled)."""
    jobs = IngestionJob.objects.select_related("version__document").order_by("-created_at")[:200]
    return JsonResponse(
        {
            "jobs": [
                {
                    "id": job.pk,
                    "document": job.version.document.title,
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
