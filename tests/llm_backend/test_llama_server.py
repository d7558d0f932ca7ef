"""The product's inference server: llama.cpp's own llama-server, built by `make install` from the
pinned llama.cpp (llm_backend/server.py), serving SmolLM2-135M on a free port with two slots.

Checks what the portal relies on: readiness sees the model by its alias, the OpenAI-compatible
backend streams from it with grammars, two answers decode at once, and a repeated prompt prefix
comes from the server's cache instead of being computed again.
"""

from __future__ import annotations

import subprocess
import threading
import time

import pytest
from django.conf import settings

from llm_backend import backend_from_config
from llm_backend.base import GenerationRequest
from llm_backend.server import ServerSpec, server_status, wait_ready
from tests.llm_backend.test_openai_server import _free_port

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def llama_server(smollm2_gguf, tmp_path_factory):
    binary = settings.LLM_SERVER_BIN
    assert binary.exists(), f"no llama-server at {binary}: `make install` builds it"
    spec = ServerSpec(
        binary=binary,
        model_path=smollm2_gguf,
        alias="smollm2",
        port=_free_port(),
        slots=2,
        ctx_per_slot=1024,
        threads=1,
        cache_reuse=64,
    )
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(spec.argv(), stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_ready(spec.base_url, timeout_s=90, alive=lambda: process.poll() is None)
    except TimeoutError:
        process.kill()
        pytest.fail(f"llama-server did not come up: {log.read_text()[-2000:]}")
    yield spec
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


def _backend(spec: ServerSpec):
    return backend_from_config(
        {"kind": "openai", "base_url": spec.base_url, "model": "smollm2", "timeout_s": 60}
    )


def test_readiness_sees_the_model_by_its_alias(llama_server):
    status = server_status(llama_server.base_url)
    assert status["ok"] and status["models"] == ["smollm2"]


def test_streams_with_a_grammar(llama_server):
    backend = _backend(llama_server)
    request = GenerationRequest(
        messages=[{"role": "user", "content": "Is the sky blue? Answer yes or no."}],
        max_tokens=8,
        grammar='root ::= "yes" | "no"',
    )
    text, usage = backend.generate(request)
    assert text in ("yes", "no") and usage.constrained
    assert usage.completion_tokens >= 1 and usage.first_token_s is not None


def test_two_answers_decode_at_once(llama_server):
    """Both slots busy at the same moment: the second answer does not wait for the first."""
    backend = _backend(llama_server)
    spans: list[tuple[float, float]] = []

    def one(i: int) -> None:
        started = time.monotonic()
        backend.generate(
            GenerationRequest(
                messages=[{"role": "user", "content": f"Count from {i} to {i + 40}."}],
                max_tokens=48,
            )
        )
        spans.append((started, time.monotonic()))

    threads = [threading.Thread(target=one, args=(i,)) for i in (1, 100)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(spans) == 2
    (a0, a1), (b0, b1) = sorted(spans)
    # Overlapping decodes: the later one started before the earlier one ended, and ended well
    # before a serial server could have finished it (start of the first + both durations).
    assert b0 < a1
    assert b1 - a0 < (a1 - a0) + (b1 - b0)


def test_a_repeated_prompt_prefix_is_served_from_the_cache(llama_server):
    backend = _backend(llama_server)
    system = "You answer questions about passports. " + " ".join(
        f"Rule {i}: cite the passage you used." for i in range(40)
    )

    def ask(question: str):
        return backend.generate(
            GenerationRequest(
                messages=[
                    {"role": "system", "content": system},
                    {"role": "user", "content": question},
                ],
                max_tokens=4,
            )
        )[1]

    ask("How long does renewal take?")
    second = ask("What does renewal cost?")
    assert second.prompt_tokens > 300
    # The fixed prefix (system prompt) was not computed again.
    assert second.cached_prompt_tokens >= 300


def test_warming_fills_each_slot_with_a_languages_prompt_prefix(llama_server):
    """What the serving processes do at start (portal/qa/warmup.py): the answer prompt's fixed
    start, one language per slot; the first real question in either language then prefills only
    its passages and question."""
    from portal.qa.prompts import build_prompt

    backend = _backend(llama_server)

    def prompt(language: str, question: str, passages):
        return build_prompt(question=question, passages=passages, language=language,
                            max_sentences=3).messages  # fmt: skip

    for slot, language in enumerate(("en", "zh")):
        backend.warm(GenerationRequest(messages=prompt(language, "", [])), slot=slot)
    asked = {
        "en": prompt(
            "en",
            "How long does renewal take?",
            [("1", "Renewal", "Mail renewal takes 6 to 8 weeks.")],
        ),
        "zh": prompt(
            "zh",
            "护照多久能办好？",
            [("1", "护照法", "公安机关应当自收到申请材料之日起十五日内签发。")],
        ),
    }
    for language, messages in asked.items():
        _, usage = backend.generate(GenerationRequest(messages=messages, max_tokens=2))
        # The system rules and the one-shot example (most of this short prompt) came from the
        # cache; only the passage and the question were computed.
        assert usage.cached_prompt_tokens >= 0.8 * usage.prompt_tokens, (language, usage)
