"""Fine-tuned adapters served by llama.cpp: `manage.py finetune export` -> a GGUF LoRA with its
manifest -> promotion makes llama.cpp load it (in-process, and the local llama-server's argv) ->
answers record it -> rollback serves the base alone; and the adapter a repository ships.

Models are real and tiny (tests/llm_backend/tiny_gguf.py): a 2-layer Qwen2 laid out as
fine-tuning lays out a GGUF base (``models/<stem>.gguf`` and its transformers directory
``models/hf/<stem>``), and a PEFT adapter on it, converted by llama.cpp's own converters.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from llm_backend import lora
from llm_backend.model_files import file_sha256
from portal.audit.models import AuditEvent
from portal.core.serving import serving_backend_config
from portal.finetune import services
from portal.finetune.models import Adapter
from portal.finetune.training import fingerprint
from portal.qa import backends
from portal.qa.services import answer_run
from tests.llm_backend.tiny_gguf import tiny_lora_model
from tests.portal.factories import PASSPORT_MD, ingest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny():
    try:
        return tiny_lora_model()
    except lora.SourceUnavailable as exc:  # only a missing source skips; failures fail
        pytest.skip(f"llama.cpp's converters are not available: {exc}")


def _metrics(csf: float, precision: float, unsupported: float) -> dict:
    return {
        "dataset": "pubmedqa",
        "split": "dev",
        "n_questions": 20,
        "metrics": {
            "draft_cited_fraction": csf,
            "citation_precision": precision,
            "unsupported_before_verification": unsupported,
        },
    }


@pytest.fixture
def trained(db, tiny, tmp_path) -> Adapter:
    """A trained, evaluated adapter in the registry (the PEFT files as training saves them)."""
    base = services.base_register(model_dir=tiny.hf_dir)
    services.evaluation_store(adapter=base, report=_metrics(0.5, 0.5, 0.5), limit=20)
    path = tmp_path / "adapters" / "sft-tiny"
    shutil.copytree(tiny.peft_dir, path, ignore=shutil.ignore_patterns("*.gguf"))
    adapter = Adapter.objects.create(
        id="sft-tiny", kind="sft", base_model_dir=str(tiny.hf_dir),
        base_model_id=base.base_model_id, path=str(path), fingerprint=fingerprint(path),
        hyperparameters={"config": "tiny", "rank": 4},
    )  # fmt: skip
    services.evaluation_store(adapter=adapter, report=_metrics(0.8, 0.7, 0.3), limit=20)
    return Adapter.objects.get(pk=adapter.pk)


@pytest.fixture
def llamacpp(settings, tiny, tmp_path, monkeypatch):
    """The in-process llama.cpp backend on the tiny base, with nothing shipped in the repo."""
    monkeypatch.setattr(lora, "SHIPPED_DIR", tmp_path / "shipped")
    settings.LLM_MODEL_PATH = tiny.gguf
    settings.LLM_LORA_PATH = "auto"
    settings.LLM_LORA_SHA256 = ""
    settings.LLM_BACKEND_CONFIG = {
        "kind": "llamacpp", "model_path": str(tiny.gguf), "n_ctx": 1024, "n_threads": 1,
        "lora_path": "auto",
    }  # fmt: skip
    backends.backends_reset()
    yield settings.LLM_BACKEND_CONFIG
    backends.backends_reset()


def test_export_writes_the_gguf_lora_its_manifest_and_the_registry_row(trained, tiny, capsys):
    call_command("finetune", "export", trained.id)
    folder = Path(trained.path)
    gguf = folder / lora.GGUF_NAME
    sha = file_sha256(gguf)
    assert sha in capsys.readouterr().out
    manifest = json.loads((folder / lora.MANIFEST_NAME).read_text())
    # The base GGUF is found from the base directory's layout (models/hf/<stem> <- <stem>.gguf).
    assert manifest["sha256"] == sha and manifest["base_model_sha256"] == file_sha256(tiny.gguf)
    assert manifest["base_model"] == tiny.gguf.name
    assert manifest["fingerprint"] == trained.fingerprint and manifest["adapter_id"] == trained.id
    assert manifest["config"] == {"config": "tiny", "rank": 4}
    gate = json.loads((folder / manifest["gate_report"]).read_text())
    assert gate["evaluations"]["pubmedqa/dev"]["metrics"]["citation_precision"] == 0.7
    assert gate["promotion"] is None
    row = Adapter.objects.get(pk=trained.pk)
    assert row.training["gguf"]["sha256"] == sha and row.training["gguf"]["path"] == str(gguf)
    assert row.fingerprint == fingerprint(folder)  # the GGUF beside it does not change its id
    assert AuditEvent.objects.filter(action="finetune.export", object_id=trained.id).exists()


def test_a_promoted_export_serves_on_llama_cpp_answers_record_it_and_rollback_ends_it(
    trained, llamacpp, settings
):
    ingest(PASSPORT_MD, filename="passport.md", title="Passport renewal")
    settings.ANSWER_MAX_TOKENS = 16
    base_only = backends.generation_backend()
    assert base_only.kind == "llamacpp" and "+lora" not in base_only.model_id

    assert services.adapter_promote(adapter=trained).promoted
    # Promoted before its export: llama.cpp still serves the base alone (and says why, once).
    assert serving_backend_config(llamacpp) == llamacpp
    call_command("finetune", "export", trained.id)
    served = serving_backend_config(llamacpp)
    assert served["lora_path"] == str(Path(trained.path) / lora.GGUF_NAME)
    assert served["lora_base_sha256"] == file_sha256(settings.LLM_MODEL_PATH)

    backend = backends.generation_backend()
    lora_sha = file_sha256(Path(trained.path) / lora.GGUF_NAME)
    assert backend.model_id == f"{base_only.model_id}+lora@sha256:{lora_sha[:12]}"
    assert backend.adapter_id == trained.fingerprint
    answer = answer_run(question="How long does passport renewal by mail take?").answer
    assert answer.model_id == backend.model_id and answer.adapter_id == trained.fingerprint

    # The local llama-server starts with the same adapter, checked first.
    settings.LLM_BACKEND = "openai"
    chosen = backends.local_server_lora()
    argv = backends.local_server_spec(lora=chosen).argv()
    assert argv[argv.index("--lora") + 1] == served["lora_path"]

    call_command("finetune", "rollback")
    assert serving_backend_config(llamacpp) == llamacpp
    assert backends.local_server_lora() is None
    assert "--lora" not in backends.local_server_spec().argv()
    assert "+lora" not in backends.generation_backend().model_id


def test_the_shipped_adapter_serves_by_default_unless_its_base_differs_or_none_is_set(
    trained, tiny, llamacpp, settings, tmp_path, caplog
):
    shipped = lora.SHIPPED_DIR
    call_command("finetune", "export", trained.id, "--to", str(shipped))
    assert sorted(p.name for p in shipped.iterdir()) == ["adapter.gguf", "gate.json",
                                                         "manifest.json"]  # fmt: skip
    # In-process: LLM_LORA_PATH=auto loads it.
    backend = backends.generation_backend()
    assert "+lora@sha256:" in backend.model_id and backend.adapter_id == trained.fingerprint
    # llama-server (`make run`): its argv carries it, and answers from it record it.
    settings.LLM_BACKEND = "openai"
    assert backends.local_server_lora().path == shipped / lora.GGUF_NAME
    settings.LLM_OPENAI_BASE_URL = "http://127.0.0.1:8081/v1"
    settings.LLM_SERVER_START = True
    settings.LLM_BACKEND_CONFIG = {"kind": "openai", "base_url": settings.LLM_OPENAI_BASE_URL,
                                   "model": "tiny"}  # fmt: skip
    backends.backends_reset()
    assert backends.generation_backend().adapter_id == trained.fingerprint

    # LLM_LORA_PATH=none: the base alone.
    settings.LLM_LORA_PATH = "none"
    assert backends.local_server_lora() is None
    # Another base model: refused with a log line, and the base serves alone.
    settings.LLM_LORA_PATH = "auto"
    other = tmp_path / "other-base.gguf"
    other.write_bytes(b"GGUF another model")
    settings.LLM_MODEL_PATH = other
    with caplog.at_level(logging.ERROR, logger="llm_backend.lora"):
        assert backends.local_server_lora() is None
    assert "refused" in caplog.text and "base model serves alone" in caplog.text
    # A shipped file that is not the one its manifest pins stops the server from starting.
    settings.LLM_MODEL_PATH = tiny.gguf
    (shipped / lora.GGUF_NAME).write_bytes(b"tampered")
    with pytest.raises(lora.LoraError, match="not the pinned adapter"):
        backends.local_server_lora()


def test_export_says_what_is_missing(trained, tiny, tmp_path):
    base = Adapter.objects.get(kind="base")
    with pytest.raises(CommandError, match="no adapter to export"):
        call_command("finetune", "export", base.id)
    # A base directory that was not made from a GGUF: which GGUF it serves on must be given.
    elsewhere = tmp_path / "base-dir"
    shutil.copytree(tiny.hf_dir, elsewhere)
    Adapter.objects.filter(pk=trained.pk).update(base_model_dir=str(elsewhere))
    with pytest.raises(CommandError, match="--base-gguf"):
        call_command("finetune", "export", trained.id)
    call_command("finetune", "export", trained.id, "--base-gguf", str(tiny.gguf))
    assert Adapter.objects.get(pk=trained.pk).training["gguf"]["base_model"] == str(tiny.gguf)
    # Without the base config.json the converter cannot map the adapter's tensors.
    (elsewhere / "config.json").unlink()
    with pytest.raises(CommandError, match=r"has no config\.json"):
        call_command("finetune", "export", trained.id, "--base-gguf", str(tiny.gguf))


MINI_CORPUS = [
    {"doc_id": "passport", "title": "Passport renewal",
     "text": "Adults may renew a passport by mail. Mail renewal takes 6 to 8 weeks."},
]  # fmt: skip
MINI_QUESTIONS = [
    {"id": "q1", "question": "How long does passport renewal by mail take?",
     "gold_doc_ids": ["passport"]},
]  # fmt: skip


def test_evaluate_judges_an_adapter_where_it_serves_llama_cpp_with_its_gguf_lora(
    trained, tiny, settings, tmp_path, capsys
):
    """`finetune evaluate` (engine auto) on a GGUF base: the adapter is exported first and the
    answers come from llama.cpp with the base GGUF + the adapter's GGUF LoRA, as `make run` serves
    it; the stored evaluation says which engine made it, and the gate only compares like with
    like."""
    folder = tmp_path / "mini"
    folder.mkdir()
    for name, rows in (("corpus.jsonl", MINI_CORPUS), ("questions.jsonl", MINI_QUESTIONS)):
        (folder / name).write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    settings.ANSWER_MAX_TOKENS = 16
    settings.LLM_N_CTX = 1024
    out = tmp_path / "report.json"
    call_command("finetune", "evaluate", trained.id, "--dataset", str(folder), "--out", str(out))
    report = json.loads(out.read_text())
    assert report["engine"] == "llamacpp" and "llamacpp" in capsys.readouterr().out
    row = Adapter.objects.get(pk=trained.pk)
    gguf = Path(trained.path) / lora.GGUF_NAME
    assert row.training["gguf"]["sha256"] == file_sha256(gguf)  # exported on the way
    assert trained.id in report["adapter_fingerprint"]  # the LoRA llama.cpp applied
    assert row.evaluations["mini/dev"]["engine"] == "llamacpp"

    base = Adapter.objects.get(kind="base")

    def compared() -> set[str]:
        return {
            r.key
            for r in services.gate_compare(candidate=row, serving=Adapter.objects.get(pk=base.pk))
        }

    # Same dataset, split and limit, but another engine: nothing to compare.
    services.evaluation_store(adapter=base, report={**report, "engine": "transformers"}, limit=None)
    assert "mini/dev" not in compared()
    services.evaluation_store(adapter=base, report=report, limit=None)
    assert "mini/dev" in compared()
