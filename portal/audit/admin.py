from django.contrib import admin

from portal.audit.models import AuditCheckpoint, AuditEvent


class _ReadOnly(admin.ModelAdmin):
    """The trail is appended by services, never edited by hand (PostgreSQL refuses it anyway)."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(_ReadOnly):
    list_display = (
        "seq",
        "at",
        "action",
        "outcome",
        "actor_role",
        "actor_id",
        "object_type",
        "object_id",
    )
    list_filter = ("action", "actor_role", "outcome")
    readonly_fields = [f.name for f in AuditEvent._meta.fields]


@admin.register(AuditCheckpoint)
class AuditCheckpointAdmin(_ReadOnly):
    list_display = ("id", "kind", "seq", "created_at", "key_id")
    list_filter = ("kind",)
    readonly_fields = [f.name for f in AuditCheckpoint._meta.fields]
