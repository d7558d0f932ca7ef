from django.contrib import admin

from portal.evaluation.models import EvaluationRun


@admin.register(EvaluationRun)
class EvaluationRunAdmin(admin.ModelAdmin):
    """Raw rows; the readable history with metrics and plots is the /evaluation/ page."""

    list_display = ("created_at", "kind", "dataset", "split", "n_questions")
    list_filter = ("kind", "dataset", "split")
    exclude = ("plot_png",)
    readonly_fields = [f.name for f in EvaluationRun._meta.fields if f.name != "plot_png"]
