"""The serving record: which fine-tuned adapter the generation backend loads, if any.

Below both the answer pipeline (which reads it) and fine-tuning (which writes it), so neither
imports the other: ``portal.finetune`` calls ``serving_set`` / ``serving_clear`` when the gate
promotes an adapter or an operator rolls back, and ``portal.qa.backends`` passes its backend
configuration through ``serving_backend_config``. The fine-tuning registry (``Adapter``,
``ServingChange``) stays the history; this row is only what serves now.

llama.cpp serves an adapter as a GGUF LoRA: ``manage.py finetune export`` writes ``adapter.gguf``
and its ``manifest.json`` into the adapter's directory, and ``serving_lora`` reads them from the
directory the record names, so exporting before or after promotion both take effect.
"""

from __future__ import annotations

import logging
from pathlib import Path

from llm_backend.lora import LoraError, LoraFile, manifest_read
from portal.core.models import ServingRecord

logger = logging.getLogger(__name__)

_PK = 1
_warned: set[str] = set()  # adapters already logged as having no GGUF (once per process)


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


def serving_lora() -> LoraFile | None:
    """The serving adapter's GGUF LoRA (its export's manifest.json); None when no adapter is
    promoted, or when the promoted one has not been exported (logged once: llama.cpp then
    serves what LLM_LORA_PATH names)."""
    record = serving_record()
    if record is None or not record.adapter_dir:
        return None
    try:
        lora = manifest_read(Path(record.adapter_dir))
    except LoraError as exc:
        lora, why = None, str(exc)
    else:
        why = f"it has no GGUF LoRA yet (`manage.py finetune export {record.adapter_id}`)"
    if lora is None and record.adapter_id not in _warned:
        _warned.add(record.adapter_id)
        logger.warning("the serving adapter %s is not served by llama.cpp: %s; llama.cpp "
                       "serves LLM_LORA_PATH instead", record.adapter_id, why)  # fmt: skip
    return lora


def serving_backend_config(config: dict) -> dict:
    """``config`` (settings.LLM_BACKEND_CONFIG) with the serving adapter applied.

    A transformers configuration: the serving adapter's base directory and adapter directory
    replace LLM_HF_MODEL_DIR / LLM_ADAPTER_DIR. A llamacpp configuration: the serving adapter's
    GGUF LoRA, once exported, replaces LLM_LORA_PATH (the backend checks its hash and that it was
    made for the configured base). So promotion and rollback take effect without editing the
    environment. Any other backend kind is returned as it is: the local llama-server loads its
    adapter when it starts (``portal.qa.backends.local_server_lora``), a vLLM server by its own
    flags (README "Fine-tuning"). A configuration marked ``"pinned": True`` (fine-tuning's
    evaluation of one adapter) is returned as it is too: the serving adapter must not replace the
    one under evaluation.
    """
    if config.get("pinned") or config.get("kind") not in ("transformers", "llamacpp"):
        return config
    if config["kind"] == "llamacpp":
        lora = serving_lora()
        return {**config, **lora.as_config()} if lora is not None else config
    record = serving_record()
    if record is None:
        return config
    return {**config, "model_dir": record.base_model_dir, "adapter_dir": record.adapter_dir or None}
