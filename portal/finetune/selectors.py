"""Reads of the fine-tuning registry: what serves now, the registry listing, the loss plot."""

from __future__ import annotations

import io

from portal.core import serving as core_serving
from portal.finetune.models import Adapter, AdapterStatus, ServingChange


def serving_adapter() -> Adapter | None:
    """The adapter marked serving, or None when the base model serves alone."""
    return Adapter.objects.filter(status=AdapterStatus.SERVING).first()


def serving_backend_config(config: dict) -> dict:
    """``config`` with the serving adapter applied: what ``portal.qa.backends`` loads, read from
    the serving record that promotion and rollback write (``portal.core.serving``)."""
    return core_serving.serving_backend_config(config)


def registry() -> list[Adapter]:
    return list(Adapter.objects.select_related("dataset", "parent").order_by("-created_at"))


def serving_history(limit: int = 20) -> list[ServingChange]:
    return list(ServingChange.objects.select_related("adapter", "previous", "user")[:limit])


def final_loss(adapter: Adapter) -> float | None:
    losses = adapter.training.get("losses") or []
    return losses[-1] if losses else None


def loss_plot_png(adapter: Adapter) -> bytes:
    """The training loss per optimizer step (and a moving average), as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    losses = adapter.training.get("losses") or []
    figure = Figure(figsize=(6.6, 3.6), dpi=100)
    axes = figure.subplots()
    steps = list(range(1, len(losses) + 1))
    axes.plot(steps, losses, marker=".", linewidth=1, label="loss per step")
    window = max(1, len(losses) // 10)
    if window > 1:
        windows = [losses[max(0, i - window + 1) : i + 1] for i in range(len(losses))]
        smooth = [sum(w) / len(w) for w in windows]
        axes.plot(steps, smooth, linewidth=2, label=f"mean of {window}")
    axes.set_xlabel("optimizer step")
    axes.set_ylabel("DPO loss" if adapter.kind == "dpo" else "SFT loss (answer tokens)")
    axes.set_title(adapter.id)
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
