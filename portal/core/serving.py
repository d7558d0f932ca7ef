"""The serving record: which fine-tuned adapter the generation backend loads, if any.

Below both the answer pipeline (which reads it) and fine-tuning (which writes it), so neither
imports the other: ``portal.finetune`` calls ``serving_set`` / ``serving_clear`` when the gate
promotes an adapter or an operator rolls back, and ``portal.qa.backends`` passes its backend
configuration through ``serving_backend_config``. The fine-tuning registry (``Adapter``,
``ServingChange``) stays the history; this row is only what serves now.
"""

from __future__ import annotations

from portal.core.models import ServingRecord

_PK = 1


def serving_record() -> ServingRecord | None:
    """What serves now; None when the base model serves alone."""
    record = ServingRecord.objects.filter(pk=_PK).first()
    return record if record is not None and record.adapter_id else None


def serving_set(*, adapter_id: str, base_model_dir: str, adapter_dir: str) -> ServingRecord:
    """Serve this adapter from now on (call inside the transaction that marks it serving)."""
    record, _ = ServingRecord.objects.update_or_create(
        pk=_PK,
        defaults={
            "adapter_id": adapter_id,
            "base_model_dir": base_model_dir,
            "adapter_dir": adapter_dir,
        },
    )
    return record


def serving_clear() -> None:
    """Serve the configured base model alone from now on."""
    ServingRecord.objects.update_or_create(
        pk=_PK, defaults={"adapter_id": "", "base_model_dir": "", "adapter_dir": ""}
    )


def serving_backend_config(config: dict) -> dict:
    """``config`` (settings.LLM_BACKEND_CONFIG) with the serving adapter applied.

    Only a transformers configuration changes: the serving adapter's base directory and adapter
    directory replace LLM_HF_MODEL_DIR / LLM_ADAPTER_DIR, so promotion and rollback take effect
    without editing the environment. Any other backend kind (llama.cpp, a vLLM server) is returned
    as it is: a vLLM server is pointed at the adapter by its own flags (README "Fine-tuning").
    A configuration marked ``"pinned": True`` (fine-tuning's evaluation of one adapter) is
    returned as it is too: the serving adapter must not replace the one under evaluation.
    """
    if config.get("kind") != "transformers" or config.get("pinned"):
        return config
    record = serving_record()
    if record is None:
        return config
    return {**config, "model_dir": record.base_model_dir, "adapter_dir": record.adapter_dir or None}
