"""/api/v1/audit/export: the audit trail as CSV or JSON lines, streamed (auditors only).

portal/api/api.py mounts the router."""

from __future__ import annotations

from typing import Literal

from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone
from ninja import Router
from ninja.errors import HttpError

from portal.accounts.roles import VIEW_AUDIT
from portal.audit.export import CONTENT_TYPES, export_lines
from portal.audit.forms import AuditFilterForm
from portal.audit.selectors import audit_export
from portal.audit.services import audit_record
from portal.core.api_auth import Access

router = Router(tags=["audit"])


@router.get(
    "/audit/export",
    auth=Access(VIEW_AUDIT),
    openapi_extra={
        "parameters": [
            {"name": name, "in": "query", "required": False, "schema": {"type": "string"}}
            for name in AuditFilterForm.base_fields
        ],
        "responses": {
            200: {
                "description": "one row per event (hash-chain fields included)",
                "content": {
                    "text/csv": {"schema": {"type": "string"}},
                    "application/x-ndjson": {"schema": {"type": "string"}},
                },
            }
        },
    },
)
def export(request: HttpRequest, format: Literal["csv", "jsonl"] = "csv"):
    """Filters as on the audit page: since, until (dates), action (prefix), actor, role,
    outcome, object_type, object_id. The export itself is recorded before the rows stream."""
    form = AuditFilterForm(request.GET)
    if not form.is_valid():
        raise HttpError(400, f"bad filters: {form.errors.as_json()}")
    filters = form.filters()
    audit_record(
        request=request,
        action="audit.export",
        detail={**filters.as_detail(), "format": format, "via": "api"},
    )
    response = StreamingHttpResponse(
        export_lines(audit_export(filters), format), content_type=CONTENT_TYPES[format]
    )
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.{format}"'
    return response
