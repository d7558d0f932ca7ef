"""`manage.py finetune export`: a trained adapter as the GGUF LoRA that llama.cpp serves.

Training writes a PEFT adapter for the transformers model that ``training.load_base``
dequantized from the base GGUF; llama.cpp (in-process, and llama-server) applies LoRA adapters in
its own format to the GGUF itself. ``adapter_export`` converts the adapter with llama.cpp's own
converter (``llm_backend.lora``) into ``<adapter dir>/adapter.gguf`` and writes ``manifest.json``
beside it: the file's SHA-256, the SHA-256 of the base GGUF it is for (checked before it
serves: an adapter on another base is refused), the dataset hash, the training configuration,
and ``gate.json`` (its evaluations and the promotion comparison, when promoted). The registry
row records the file and hashes in ``Adapter.training["gguf"]``.

Once exported, a promoted adapter is what llama.cpp configurations load (portal/core/serving.py);
``--to llm_backend/adapters/default`` copies the three files to where `make run` serves them by
default.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from llm_backend.lora import (
    GGUF_NAME,
    MANIFEST_NAME,
    LoraError,
    LoraFile,
    lora_convert,
    manifest_write,
)
from llm_backend.model_files import file_sha256
from llm_backend.server import pinned_llama_version
from portal.audit.services import audit_record
from portal.finetune.models import Adapter, AdapterKind, ServingChange
from portal.finetune.services import FinetuneError, base_gguf_for

GATE_NAME = "gate.json"


def _gate_report(adapter: Adapter) -> dict:
    promotion = ServingChange.objects.filter(
        action=ServingChange.Action.PROMOTE, adapter=adapter
    ).first()
    return {
        "adapter": adapter.id,
        "evaluations": adapter.evaluations,
        "promotion": None
        if promotion is None
        else {
            "at": promotion.created_at.isoformat(),
            "previous": promotion.previous_id,
            "comparison": promotion.comparison,
        },
    }


def adapter_export(
    *,
    adapter: Adapter,
    base_gguf: Path | None = None,
    outtype: str = "f32",
    to: Path | None = None,
    user=None,
) -> LoraFile:
    """Write ``adapter`` as a GGUF LoRA with its manifest; returns the file and its hashes.

    ``base_gguf``: the GGUF model it will serve on (default: the one its base directory was
    made from). ``to``: also copy adapter.gguf, manifest.json and gate.json to that folder.
    """
    if adapter.kind == AdapterKind.BASE or not adapter.path:
        raise FinetuneError(f"{adapter.id} is a base model: there is no adapter to export")
    folder = Path(adapter.path)
    base = Path(base_gguf) if base_gguf else base_gguf_for(adapter)
    if base is None or not base.is_file():
        raise FinetuneError(
            f"which GGUF model will {adapter.id} serve on? Its base directory "
            f"{adapter.base_model_dir} was not made from a GGUF beside it: give --base-gguf FILE"
        )
    try:
        converted = lora_convert(folder, base_dir=Path(adapter.base_model_dir), outtype=outtype)
    except LoraError as exc:
        raise FinetuneError(f"{adapter.id} cannot be exported: {exc}") from exc
    lora = LoraFile(converted.path, converted.sha256, file_sha256(base), adapter.fingerprint)
    (folder / GATE_NAME).write_text(
        json.dumps(_gate_report(adapter), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    exported_at = timezone.now().isoformat()
    manifest_write(
        folder,
        lora,
        adapter_id=adapter.id,
        kind=adapter.kind,
        base_model=base.name,
        dataset_hash=adapter.dataset.hash if adapter.dataset_id else "",
        config=adapter.hyperparameters,
        gate_report=GATE_NAME,
        outtype=outtype,
        llama_cpp_python=pinned_llama_version(),
        exported_at=exported_at,
    )
    with transaction.atomic():
        row = Adapter.objects.select_for_update().get(pk=adapter.pk)
        row.training["gguf"] = {
            "path": str(lora.path),
            "sha256": lora.sha256,
            "base_model": str(base),
            "base_model_sha256": lora.base_sha256,
            "outtype": outtype,
            "exported_at": exported_at,
        }
        row.save(update_fields=["training"])
    adapter.training = row.training
    if to is not None:
        to = Path(to)
        to.mkdir(parents=True, exist_ok=True)
        for name in (GGUF_NAME, MANIFEST_NAME, GATE_NAME):
            shutil.copy2(folder / name, to / name)
    audit_record(action="finetune.export", user=user, object_type="adapter",
                 object_id=adapter.id, detail={"sha256": lora.sha256[:16],
                 "base_sha256": lora.base_sha256[:16], "to": str(to or "")})  # fmt: skip
    return lora
