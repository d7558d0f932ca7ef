from django.contrib import admin

from portal.review.models import ReviewDecision


@admin.register(ReviewDecision)
class ReviewDecisionAdmin(admin.ModelAdmin):
    list_display = ("answer", "decision", "reviewer", "created_at")
    list_filter = ("decision",)
    readonly_fields = [f.name for f in ReviewDecision._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # decisions are training data and audit evidence: never edited
