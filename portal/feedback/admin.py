from django.contrib import admin

from portal.feedback.models import Feedback


@admin.register(Feedback)
class FeedbackAdmin(admin.ModelAdmin):
    """Read-only: feedback is what readers said; staff read it, nobody rewrites it."""

    list_display = ("answer", "helpful", "reason", "language", "created_at")
    list_filter = ("helpful", "reason", "language")
    readonly_fields = ("answer", "reader_key", "helpful", "reason", "comment", "language")
    search_fields = ("comment",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
