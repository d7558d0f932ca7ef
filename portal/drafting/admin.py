"""Admin for drafting. Roles are code (portal/accounts/roles.py) and grant no per-model Django
permissions, so these pages check the role permissions themselves: knowledge managers (admins)
curate the templates and may read drafts; drafts change only through the audited workspace."""

from django.contrib import admin

from portal.accounts.roles import MANAGE_KNOWLEDGE
from portal.core.text_input import NormalizedModelForm
from portal.drafting.models import Draft, DraftTemplate


class _KnowledgeManagers:
    def has_module_permission(self, request) -> bool:
        return request.user.has_perm(MANAGE_KNOWLEDGE)

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.has_perm(MANAGE_KNOWLEDGE)


@admin.register(DraftTemplate)
class DraftTemplateAdmin(_KnowledgeManagers, admin.ModelAdmin):
    """Admins add and edit the kinds of documents staff can draft. A template in use cannot be
    deleted (drafts keep pointing at it): untick "active" to stop offering it."""

    form = NormalizedModelForm  # names, openings and closings end up in every exported DOCX
    list_display = ("name_en", "name_zh", "slug", "max_sentences", "active", "updated_at")
    list_filter = ("active",)
    prepopulated_fields = {"slug": ("name_en",)}
    search_fields = ("name_en", "name_zh", "slug")

    def has_add_permission(self, request) -> bool:
        return request.user.has_perm(MANAGE_KNOWLEDGE)

    def has_change_permission(self, request, obj=None) -> bool:
        return request.user.has_perm(MANAGE_KNOWLEDGE)

    def has_delete_permission(self, request, obj=None) -> bool:
        in_use = obj is not None and obj.drafts.exists()
        return request.user.has_perm(MANAGE_KNOWLEDGE) and not in_use


@admin.register(Draft)
class DraftAdmin(_KnowledgeManagers, admin.ModelAdmin):
    """Read-only oversight: drafts change only through the drafting workspace (audited)."""

    list_display = ("title", "template", "author", "status", "language", "updated_at")
    list_filter = ("status", "template", "language")
    search_fields = ("title",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
