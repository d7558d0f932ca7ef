"""Admin for the lexicon. Every write goes through services so each change bumps the version."""

from django.contrib import admin

from portal.core.text_input import NormalizedModelForm
from portal.safety import selectors, services
from portal.safety.models import LexiconVersion, SensitiveTerm


@admin.register(SensitiveTerm)
class SensitiveTermAdmin(admin.ModelAdmin):
    form = NormalizedModelForm  # terms are matched against normalised questions
    list_display = ("term", "category", "language", "action", "enabled", "updated_at")
    list_filter = ("category", "language", "action", "enabled")
    search_fields = ("term", "note")
    list_per_page = 100
    actions = ["enable_terms", "disable_terms"]

    def save_model(self, request, obj, form, change) -> None:
        services.term_save(
            term=obj,
            user=request.user,
            change=f"{'edited' if change else 'added'} '{obj.term}' in admin",
        )

    def delete_model(self, request, obj) -> None:
        services.terms_delete(terms=[obj], user=request.user)

    def delete_queryset(self, request, queryset) -> None:
        services.terms_delete(terms=list(queryset), user=request.user)

    @admin.action(description="Enable selected terms")
    def enable_terms(self, request, queryset) -> None:
        services.terms_set_enabled(terms=list(queryset), enabled=True, user=request.user)

    @admin.action(description="Disable selected terms")
    def disable_terms(self, request, queryset) -> None:
        services.terms_set_enabled(terms=list(queryset), enabled=False, user=request.user)

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "safety_settings": selectors.safety_settings(),
            "lexicon_status": selectors.lexicon_status(),
        }
        return super().changelist_view(request, extra_context=extra_context)


@admin.register(LexiconVersion)
class LexiconVersionAdmin(admin.ModelAdmin):
    list_display = ("id", "created_at", "term_count", "content_hash", "created_by", "change")
    readonly_fields = [f.name for f in LexiconVersion._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
