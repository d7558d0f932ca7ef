"""The audit search page and the export. Reading the trail is itself audited."""

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from portal.accounts.roles import VIEW_AUDIT
from portal.audit.export import CONTENT_TYPES, FORMATS, export_lines
from portal.audit.forms import AuditFilterForm
from portal.audit.selectors import audit_events, audit_export
from portal.audit.services import audit_record
from portal.core.access import requires

PAGE_SIZE = 50


@requires(VIEW_AUDIT)
@require_GET
def events(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET)  # every field is optional: no filters lists everything
    page = None
    if form.is_valid():
        filters = form.filters()
        page = Paginator(audit_events(filters), PAGE_SIZE).get_page(request.GET.get("page"))
        audit_record(
            request=request,
            action="audit.view",
            detail={**filters.as_detail(), "page": page.number},
        )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "audit/events.html",
        {"form": form, "page": page, "query": query.urlencode(), "formats": FORMATS},
    )


@requires(VIEW_AUDIT)
@require_GET
def export(request: HttpRequest) -> HttpResponse:
    fmt = request.GET.get("format", "csv")
    form = AuditFilterForm(request.GET)
    if fmt not in FORMATS or not form.is_valid():
        errors = {} if fmt in FORMATS else {"format": [f"one of {', '.join(FORMATS)}"]}
        return JsonResponse(
            {"error": "bad filters", "fields": {**form.errors, **errors}}, status=400
        )
    filters = form.filters()
    # Recorded before the rows stream: the export is audited even if the download is cut short.
    audit_record(
        request=request, action="audit.export", detail={**filters.as_detail(), "format": fmt}
    )
    response = StreamingHttpResponse(
        export_lines(audit_export(filters), fmt), content_type=CONTENT_TYPES[fmt]
    )
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.{fmt}"'
    return response
