from django.contrib import admin

from portal.drafting.models import Draft, DraftTemplate


@admin.register(DraftTemplate)
class DraftTemplateAdmin(admin.ModelAdmin):
    """Admins add and edit the kinds of documents staff can draft."""

    list_display = ("name_en", "name_zh", "slug", "max_sentences", "active", "updated_at")
    list_filter = ("active",)
    prepopulated_fields = {"slug": ("name_en",)}
    search_fields = ("name_en", "name_zh", "slug")


@admin.register(Draft)
class DraftAdmin(admin.ModelAdmin):
    """Read-only oversight: drafts change only through the drafting workspace (audited)."""

    list_display = ("title", "template", "author", "status", "language", "updated_at")
    list_filter = ("status", "template", "language")
    search_fields = ("title",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
