"""Reads of the fine-tuning registry: what serves now, the registry listing, the loss plot."""

from __future__ import annotations

from portal.core import serving as core_serving
from portal.finetune import plots
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
    """The training loss per optimizer step (and, for DPO, the reward accuracy), as a PNG."""
    return plots.loss_plot_png(
        losses=adapter.training.get("losses") or [],
        reward_accuracy=(adapter.training.get("extra") or {}).get("reward_accuracy"),
        title=adapter.id,
        kind=adapter.kind,
    )
