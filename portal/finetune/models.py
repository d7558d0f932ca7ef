"""The fine-tuning registry: training datasets, adapters, and every change of the serving model.

A dataset is identified by the SHA-256 of its content, so the same review decisions and seed data
always give the same id and an adapter names exactly what it learned from. An adapter row keeps
what is needed to judge and reproduce it (base model, dataset hash, hyper-parameters, the loss
curve, evaluation reports); the serving history is append-only so a rollback knows what served
before.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Dataset(models.Model):
    """One built training set (SFT and DPO JSONL files), versioned by its content hash."""

    hash = models.CharField(max_length=64, unique=True)
    path = models.CharField(max_length=500)
    counts = models.JSONField(default=dict)  # {"sft": n, "dpo": n, "by_source": {...}}
    sources = models.JSONField(default=list)  # seeds and review decisions included
    prompt_version = models.CharField(max_length=40)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"dataset {self.hash[:12]}"


class AdapterKind(models.TextChoices):
    BASE = "base", "Base model (no adapter)"
    SFT = "sft", "Supervised (SFT)"
    DPO = "dpo", "Preference (DPO)"


class AdapterStatus(models.TextChoices):
    TRAINED = "trained", "Trained"
    SERVING = "serving", "Serving"
    RETIRED = "retired", "Retired"


class Adapter(models.Model):
    """A LoRA adapter (or, with kind=base, the bare base model as a comparison point).

    ``fingerprint`` is what the transformers backend records as ``Answer.adapter_id`` (the
    adapter directory's name and weight hash), so answers can be traced back to this row.
    """

    id = models.CharField(max_length=80, primary_key=True)
    kind = models.CharField(max_length=10, choices=AdapterKind.choices)
    status = models.CharField(
        max_length=10, choices=AdapterStatus.choices, default=AdapterStatus.TRAINED
    )
    base_model_dir = models.CharField(max_length=500)
    base_model_id = models.CharField(max_length=200)  # the backend's fingerprint of the base
    path = models.CharField(max_length=500, blank=True)  # empty for kind=base
    fingerprint = models.CharField(max_length=200, blank=True)
    dataset = models.ForeignKey(Dataset, null=True, blank=True, on_delete=models.PROTECT)
    parent = models.ForeignKey(  # the adapter a DPO run started from
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    hyperparameters = models.JSONField(default=dict, blank=True)
    training = models.JSONField(default=dict, blank=True)  # loss curve, time, device, examples
    # "dataset/split" -> {"metrics": {...}, "n_questions": n, "limit": n, "evaluated_at": iso}
    evaluations = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # At most one serving row: promotion retires the previous one in the same transaction.
            models.UniqueConstraint(
                fields=["status"],
                condition=models.Q(status="serving"),
                name="finetune_one_serving_adapter",
            )
        ]

    def __str__(self) -> str:
        return f"{self.id} ({self.status})"


class ServingChange(models.Model):
    """Append-only history of what served: each promotion and rollback with the gate's numbers."""

    class Action(models.TextChoices):
        PROMOTE = "promote", "Promoted"
        ROLLBACK = "rollback", "Rolled back"

    action = models.CharField(max_length=10, choices=Action.choices)
    adapter = models.ForeignKey(  # what serves after this change; null = the base model alone
        Adapter, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    previous = models.ForeignKey(  # what served before it; null = the base model alone
        Adapter, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    comparison = models.JSONField(default=list, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.action} -> {self.adapter_id or 'base'}"
