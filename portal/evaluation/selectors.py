"""Reads for the evaluation history."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from portal.evaluation.models import EvaluationRun

METRICS = (
    "recall@1",
    "recall@5",
    "recall@10",
    "mrr@10",
    "ndcg@10",
    "latency_ms_p50",
    "latency_ms_p95",
)


@dataclass(frozen=True)
class RunRow:
    """One stored run as the history page shows it: metrics per retriever, in report order."""

    run: EvaluationRun
    retrievers: list[tuple[str, list[float | None]]]
    has_plot: bool


def evaluation_runs(
    *, dataset: str | None = None, kind: str | None = None
) -> QuerySet[EvaluationRun]:
    runs = EvaluationRun.objects.defer("plot_png").order_by("-created_at", "-pk")
    if dataset:
        runs = runs.filter(dataset=dataset)
    if kind:
        runs = runs.filter(kind=kind)
    return runs


def run_rows(runs) -> list[RunRow]:
    ids_with_plot = set(
        EvaluationRun.objects.filter(pk__in=[r.pk for r in runs])
        .exclude(plot_png=b"")
        .values_list("pk", flat=True)
    )
    rows = []
    for run in runs:
        retrievers = [
            (name, [metrics.get(key) for key in METRICS])
            for name, metrics in (run.report.get("retrievers") or {}).items()
        ]
        rows.append(RunRow(run=run, retrievers=retrievers, has_plot=run.pk in ids_with_plot))
    return rows


def evaluation_datasets() -> list[str]:
    return sorted(set(EvaluationRun.objects.values_list("dataset", flat=True)))
