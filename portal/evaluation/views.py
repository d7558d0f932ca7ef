"""The evaluation history for admins: stored runs with their metrics and recall@k plots."""

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from portal.accounts.roles import MANAGE_KNOWLEDGE
from portal.core.access import requires
from portal.evaluation.models import EvaluationRun
from portal.evaluation.selectors import METRICS, evaluation_datasets, evaluation_runs, run_rows

PAGE_SIZE = 20


@requires(MANAGE_KNOWLEDGE)
@require_GET
def runs(request: HttpRequest) -> HttpResponse:
    dataset = request.GET.get("dataset") or None
    page = Paginator(evaluation_runs(dataset=dataset), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "evaluation/runs.html",
        {
            "page": page,
            "rows": run_rows(list(page)),
            "metrics": METRICS,
            "datasets": evaluation_datasets(),
            "dataset": dataset or "",
        },
    )


@requires(MANAGE_KNOWLEDGE)
@require_GET
def plot(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(EvaluationRun.objects.exclude(plot_png=b""), pk=pk)
    response = HttpResponse(bytes(run.plot_png), content_type="image/png")
    response["Cache-Control"] = "private, max-age=86400"
    return response
