from django.contrib import admin

from portal.qa.models import Answer, Citation


class CitationInline(admin.TabularInline):
    model = Citation
    extra = 0
    can_delete = False
    fields = ("label", "document_title", "version_number", "section", "page_start", "quote")
    readonly_fields = fields


@admin.register(Answer)
class AnswerAdmin(admin.ModelAdmin):
    list_display = ("public_id", "status", "refusal_reason", "language", "backend", "created_at")
    list_filter = ("status", "refusal_reason", "language", "backend")
    readonly_fields = [f.name for f in Answer._meta.fields]
    inlines = [CitationInline]

    def has_add_permission(self, request) -> bool:
        return False  # answers are written by the pipeline only

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # reviewers change answers through the review queue, which re-verifies
