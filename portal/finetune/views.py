"""The registry page for knowledge managers: runs, metrics, loss plots, promote and roll back.

Promote and roll back are POST forms with CSRF; the views call the same services as
`manage.py finetune`, so the gate applies here too and its table is shown when it refuses.
"""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from portal.accounts.roles import MANAGE_KNOWLEDGE
from portal.core.access import requires
from portal.finetune import selectors, services
from portal.finetune.models import Adapter

GATE_METRICS = [metric for metric, _ in services.GATE]


@requires(MANAGE_KNOWLEDGE)
@require_GET
def registry(request: HttpRequest) -> HttpResponse:
    adapters = selectors.registry()
    rows = [
        {
            "adapter": a,
            "final_loss": selectors.final_loss(a),
            "evaluations": [
                (key, [ev["metrics"].get(m) for m in GATE_METRICS], ev.get("limit"))
                for key, ev in sorted(a.evaluations.items())
            ],
        }
        for a in adapters
    ]
    return render(
        request,
        "finetune/registry.html",
        {
            "rows": rows,
            "serving": selectors.serving_adapter(),
            "history": selectors.serving_history(),
            "metrics": GATE_METRICS,
            "gate": request.session.pop("finetune_gate", None),
        },
    )


@requires(MANAGE_KNOWLEDGE)
@require_GET
def loss_plot(request: HttpRequest, adapter_id: str) -> HttpResponse:
    adapter = get_object_or_404(Adapter.objects.exclude(kind="base"), pk=adapter_id)
    response = HttpResponse(selectors.loss_plot_png(adapter), content_type="image/png")
    response["Cache-Control"] = "private, max-age=3600"
    return response


@requires(MANAGE_KNOWLEDGE)
@require_POST
def promote(request: HttpRequest, adapter_id: str) -> HttpResponse:
    adapter = get_object_or_404(Adapter, pk=adapter_id)
    try:
        result = services.adapter_promote(adapter=adapter, user=request.user, request=request)
    except services.FinetuneError as exc:
        messages.error(request, str(exc))
        return redirect("finetune:registry")
    request.session["finetune_gate"] = {"table": result.table, "promoted": result.promoted}
    if result.promoted:
        messages.success(request, f"{adapter.id} now serves.")
    else:
        messages.error(request, f"{adapter.id} was not promoted: {result.reason}")
    return redirect("finetune:registry")


@requires(MANAGE_KNOWLEDGE)
@require_POST
def rollback(request: HttpRequest) -> HttpResponse:
    try:
        now = services.adapter_rollback(user=request.user, request=request)
    except services.FinetuneError as exc:
        messages.error(request, str(exc))
    else:
        serving = now.id if now else "the base model alone"
        messages.success(request, f"Rolled back: {serving} serves.")
    return redirect("finetune:registry")
