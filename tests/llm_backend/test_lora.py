"""LoRA adapters on llama.cpp: a PEFT adapter converted by llama.cpp's own converter (from the
pinned llama-cpp-python sdist), loaded with its base GGUF in-process and by llama-server, and
checked before anything loads it.

The model is real and tiny (tests/llm_backend/tiny_gguf.py): a 2-layer Qwen2 with the Qwen2.5
tokenizer, converted to GGUF by convert_hf_to_gguf.py, and a PEFT adapter on it converted by
convert_lora_to_gguf.py. The converter comes from ~/.cache/cited-answers (the sdist that
`make install` fetched to build llama-server); the tests that need it skip, saying why, only when
that source can be neither found nor fetched.
"""

from __future__ import annotations

import json
import logging
import subprocess

import pytest

from llm_backend import backend_from_config, lora
from llm_backend.base import BackendError, GenerationRequest
from llm_backend.llamacpp import LlamaCppBackend
from llm_backend.model_files import file_sha256
from llm_backend.server import ServerSpec, server_root, wait_ready
from tests.llm_backend.test_openai_server import _free_port
from tests.llm_backend.tiny_gguf import tiny_lora_model

pytestmark = pytest.mark.slow

TOKENS = [9707, 11, 1879, 0, 1234, 5678]  # any ids: the weights are random


@pytest.fixture(scope="module")
def tiny():
    try:
        return tiny_lora_model()
    except lora.SourceUnavailable as exc:  # only a missing source skips; failures fail
        pytest.skip(f"llama.cpp's converters are not available: {exc}")


def _last_logits(backend: LlamaCppBackend):
    import numpy as np

    llm = backend._llm
    llm.reset()
    llm.eval(TOKENS)  # the context keeps the last position's logits
    return np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),)).copy()


def _peft_logits(tiny, *, with_adapter: bool):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny.hf_dir, local_files_only=True)
    if with_adapter:
        model = PeftModel.from_pretrained(model, tiny.peft_dir)
    with torch.no_grad():
        return model(torch.tensor([TOKENS])).logits[0, -1].numpy()


def _backend(tiny, **kwargs) -> LlamaCppBackend:
    return LlamaCppBackend(model_path=tiny.gguf, n_ctx=256, n_threads=1, **kwargs)


# --- conversion and loading ---------------------------------------------------------------------


def test_llama_cpp_applies_the_converted_adapter_as_peft_does(tiny):
    """The GGUF LoRA on the GGUF base gives the logits transformers + PEFT give, and they differ
    from the base's: the adapter is applied, and applied right."""
    import numpy as np

    with_lora = _backend(tiny, lora_path=tiny.lora.path, lora_sha256=tiny.lora.sha256)
    base = _backend(tiny)
    ours, theirs = _last_logits(with_lora), _peft_logits(tiny, with_adapter=True)
    base_ours, base_theirs = _last_logits(base), _peft_logits(tiny, with_adapter=False)
    assert np.abs(base_ours - base_theirs).max() < 1e-3
    assert np.abs(ours - theirs).max() < 1e-3
    assert np.abs(ours - base_ours).max() > 20 * np.abs(ours - theirs).max()


def test_the_backend_generates_with_the_adapter_and_its_id_names_both(tiny):
    backend = _backend(tiny, lora_path=tiny.lora.path, lora_sha256=tiny.lora.sha256)
    base_sha, lora_sha = file_sha256(tiny.gguf), tiny.lora.sha256
    assert backend.model_id == f"tiny-qwen2@sha256:{base_sha[:12]}+lora@sha256:{lora_sha[:12]}"
    assert backend.adapter_id == f"adapter@sha256:{lora_sha[:12]}"
    stream = backend.stream(
        GenerationRequest(messages=[{"role": "user", "content": "Hello"}], max_tokens=4)
    )
    list(stream)
    assert 1 <= stream.usage.completion_tokens <= 4


def test_an_export_folder_gives_the_backend_its_pin_base_and_registry_id(tiny, tmp_path):
    """adapter.gguf + manifest.json (what `manage.py finetune export` writes): the factory takes
    the pin, the base hash and the adapter's registry fingerprint from the manifest."""
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / lora.GGUF_NAME).write_bytes(tiny.lora.path.read_bytes())
    pinned = lora.LoraFile(
        folder / lora.GGUF_NAME, tiny.lora.sha256, file_sha256(tiny.gguf), "sft-1@sha256:abc"
    )
    lora.manifest_write(folder, pinned, dataset_hash="d" * 64)
    backend = backend_from_config(
        {"kind": "llamacpp", "model_path": str(tiny.gguf), "n_ctx": 256, "n_threads": 1,
         "lora_path": str(folder / lora.GGUF_NAME)}
    )  # fmt: skip
    assert backend.model_id.endswith(f"+lora@sha256:{tiny.lora.sha256[:12]}")
    assert backend.adapter_id == "sft-1@sha256:abc"


def test_an_adapter_for_another_base_is_refused_and_the_base_serves_alone(tiny, caplog):
    with caplog.at_level(logging.ERROR, logger="llm_backend.lora"):
        backend = _backend(tiny, lora_path=tiny.lora.path, lora_base_sha256="f" * 64)
    assert backend.lora is None and backend.adapter_id is None
    assert "+lora" not in backend.model_id
    assert "refused" in caplog.text and "base model serves alone" in caplog.text


def test_llama_server_serves_the_adapter_its_argv_names(tiny, tmp_path):
    """The argv `manage.py llm_server` execs carries --lora, and llama-server loads it."""
    import httpx
    from django.conf import settings

    binary = settings.LLM_SERVER_BIN
    if not binary.exists():
        pytest.skip(f"no llama-server at {binary}: `make install` builds it")
    spec = ServerSpec(
        binary=binary, model_path=tiny.gguf, alias="tiny", port=_free_port(), slots=1,
        ctx_per_slot=256, threads=1, lora_path=tiny.lora.path,
    )  # fmt: skip
    argv = spec.argv()
    assert argv[argv.index("--lora") + 1] == str(tiny.lora.path)
    log = tmp_path / "server.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_ready(spec.base_url, timeout_s=60, alive=lambda: process.poll() is None)
        adapters = httpx.get(f"{server_root(spec.base_url)}/lora-adapters", timeout=5).json()
        assert [a["path"] for a in adapters] == [str(tiny.lora.path)], log.read_text()[-2000:]
    finally:
        process.terminate()
        process.wait(timeout=10)


# --- checks before loading (no converter needed) --------------------------------------------------


def test_a_wrong_adapter_hash_is_refused_before_llama_cpp_opens_it(smollm2_gguf, tmp_path):
    # Not a GGUF at all: llama.cpp would fail on it, but the hash check comes first.
    fake = tmp_path / "adapter.gguf"
    fake.write_bytes(b"not a lora")
    with pytest.raises(BackendError, match="LLM_LORA_SHA256") as caught:
        LlamaCppBackend(model_path=smollm2_gguf, lora_path=fake, lora_sha256="0" * 64)
    assert file_sha256(fake) in str(caught.value)


def test_a_missing_adapter_says_how_to_get_one(smollm2_gguf, tmp_path):
    with pytest.raises(BackendError, match="finetune export"):
        LlamaCppBackend(model_path=smollm2_gguf, lora_path=tmp_path / "nothing.gguf")


def _ship(folder, *, base_sha256: str = "b" * 64):
    folder.mkdir(parents=True)
    (folder / lora.GGUF_NAME).write_bytes(b"lora bytes")
    pinned = lora.LoraFile(folder / lora.GGUF_NAME, file_sha256(folder / lora.GGUF_NAME),
                           base_sha256, "sft-shipped@sha256:123")  # fmt: skip
    lora.manifest_write(folder, pinned)
    return pinned


def test_auto_serves_the_shipped_adapter_when_the_repository_has_one(tmp_path):
    shipped = tmp_path / "adapters" / "default"
    assert lora.lora_select("auto", shipped=shipped) is None  # nothing shipped: the base alone
    pinned = _ship(shipped)
    assert lora.lora_select("auto", shipped=shipped) == pinned
    assert lora.lora_select("", shipped=shipped) == pinned
    assert lora.lora_select("none", shipped=shipped) is None
    (shipped / lora.GGUF_NAME).unlink()  # a manifest without its file ships nothing
    assert lora.lora_select("auto", shipped=shipped) is None


def test_an_explicit_file_takes_its_pin_from_the_setting_or_the_manifest_beside_it(tmp_path):
    pinned = _ship(tmp_path / "export")
    assert lora.lora_select(str(pinned.path)) == pinned
    override = lora.lora_select(str(pinned.path), sha256="A" * 64)
    assert override.sha256 == "a" * 64 and override.base_sha256 == pinned.base_sha256
    bare = tmp_path / "bare.gguf"
    bare.write_bytes(b"x")
    assert lora.lora_select(str(bare)) == lora.LoraFile(bare)  # no pin, no base check


def test_the_base_check_compares_the_manifest_with_the_served_base(tmp_path, caplog):
    pinned = _ship(tmp_path / "export", base_sha256="b" * 64)
    assert lora.lora_check(pinned, base_sha256="b" * 64) == pinned
    with caplog.at_level(logging.ERROR, logger="llm_backend.lora"):
        assert lora.lora_check(pinned, base_sha256="c" * 64, base_name="qwen.gguf") is None
    assert "qwen.gguf" in caplog.text and "b" * 64 in caplog.text


def test_a_broken_manifest_is_a_clear_error(tmp_path):
    (tmp_path / lora.MANIFEST_NAME).write_text(json.dumps({"file": "adapter.gguf"}))
    with pytest.raises(lora.LoraError, match="needs file and sha256"):
        lora.manifest_read(tmp_path)


# --- conversion errors --------------------------------------------------------------------------


def test_conversion_needs_the_base_config(tmp_path):
    from tests.llm_backend.tiny_hf import tiny_lora, tiny_qwen2

    base = tiny_qwen2(tmp_path / "base")
    adapter = tiny_lora(base, tmp_path / "adapter", scale=0.0)
    (base / "config.json").unlink()
    with pytest.raises(lora.LoraError, match=r"has no config\.json"):
        lora.lora_convert(adapter, base_dir=base)
    with pytest.raises(lora.LoraError, match="not a PEFT adapter"):
        lora.lora_convert(base, base_dir=base)


def test_a_source_that_cannot_be_fetched_is_a_clear_error(tmp_path, monkeypatch):
    from llm_backend import server

    def unreachable(version=None, **kwargs):
        raise subprocess.CalledProcessError(1, ["pip", "download"])

    monkeypatch.setattr(server, "llama_sdist", unreachable)  # the package index is an edge
    with pytest.raises(lora.SourceUnavailable, match="could not be fetched") as caught:
        lora.converter_dir(version="0.0.0", cache_dir=tmp_path)
    assert str(tmp_path) in str(caught.value)


def test_the_converter_reports_its_own_failure(tiny, tmp_path):
    """llama.cpp's converter refusing an adapter comes back as a LoraError with its message."""
    broken = tmp_path / "adapter"
    broken.mkdir()
    (broken / "adapter_config.json").write_text(json.dumps({"lora_alpha": 8, "r": 4}))
    (broken / "adapter_model.bin").write_bytes(b"not torch")
    with pytest.raises(lora.LoraError, match=r"convert_lora_to_gguf\.py failed"):
        lora.lora_convert(broken, base_dir=tiny.hf_dir)
    assert not list(broken.glob("*.gguf"))  # nothing half-written under the final name
