"""Core's one table: the serving record (portal/core/serving.py)."""

from __future__ import annotations

from django.db import models


class ServingRecord(models.Model):
    """What the generation backend serves beyond its configuration: one row, pk=1.

    Fine-tuning writes it when an adapter is promoted or rolled back (in the same transaction as
    its registry); the answer pipeline reads it through ``serving.serving_backend_config``. No
    row, or an empty ``adapter_id``, means the configured base model serves alone.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    adapter_id = models.CharField(max_length=80, blank=True)  # finetune.Adapter.id
    base_model_dir = models.CharField(max_length=500, blank=True)
    adapter_dir = models.CharField(max_length=500, blank=True)
    changed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"serving {self.adapter_id or 'the base model alone'}"
