from django.contrib import admin

from portal.evaluation.models import EvaluationRun


@admin.register(EvaluationRun)
class EvaluationRunAdmin(admin.ModelAdmin):
    list_display = ("created_at", "kind", "dataset", "split", "n_questions")
    list_filter = ("kind", "dataset", "split")
    readonly_fields = [f.name for f in EvaluationRun._meta.fields]
