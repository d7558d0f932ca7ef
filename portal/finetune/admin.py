"""Read-only registry rows in Django's admin; changes go through the services (the gate)."""

from django.contrib import admin

from portal.finetune.models import Adapter, Dataset, ServingChange


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Dataset)
class DatasetAdmin(_ReadOnly):
    list_display = ("hash", "prompt_version", "counts", "created_at")


@admin.register(Adapter)
class AdapterAdmin(_ReadOnly):
    list_display = ("id", "kind", "status", "base_model_id", "dataset", "created_at")
    list_filter = ("kind", "status")


@admin.register(ServingChange)
class ServingChangeAdmin(_ReadOnly):
    list_display = ("action", "adapter", "previous", "user", "created_at")
