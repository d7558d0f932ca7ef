"""The OpenAI-compatible backend against a real server: llama-cpp-python's own
``python -m llama_cpp.server`` serving SmolLM2-135M on a free local port.

The pure parsing helpers (SSE framing, usage blocks) are also checked on hand-written event
streams, for the shapes this server does not produce (vLLM usage with cached tokens, errors).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest

from llm_backend import backend_from_config
from llm_backend.base import BackendError, GenerationRequest, Usage
from llm_backend.openai_compat import (
    _read_usage,
    _sse_payloads,
    chat_completions_url,
    stream_deltas,
)

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(smollm2_gguf, tmp_path_factory):
    port = _free_port()
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "llama_cpp.server",
                "--model",
                str(smollm2_gguf),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--n_ctx",
                "2048",
                "--n_threads",
                "1",
                # By default this server aborts a running answer when the next request arrives.
                "--interrupt_requests",
                "False",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    try:
        while True:
            if process.poll() is not None:
                pytest.fail(f"llama_cpp.server exited: {log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{base_url}/v1/models", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"llama_cpp.server did not come up: {log.read_text()[-2000:]}")
            time.sleep(0.3)
        yield base_url
    finally:
        process.terminate()
        try:
            # uvicorn drains in-flight requests first (the timed-out one still decodes): don't wait.
            process.wait(timeout=3)
        except subprocess.TimeoutExpired:
            process.kill()


def _backend(base_url: str, **config):
    return backend_from_config(
        {"kind": "openai", "base_url": base_url, "model": "smollm2", "timeout_s": 60, **config}
    )


def _hello(**kwargs) -> GenerationRequest:
    return GenerationRequest(messages=[{"role": "user", "content": "Say hello."}], **kwargs)


def test_streams_a_completion_from_a_real_server(server):
    backend = _backend(server + "/v1")  # with or without /v1 is the same server
    assert backend.kind == "openai" and backend.model_id == "smollm2"
    stream = backend.stream(_hello(max_tokens=12))
    deltas = list(stream)
    assert len(deltas) >= 2 and "".join(deltas).strip()
    usage = stream.usage
    # llama_cpp.server sends no usage block while streaming: tokens are counted from the deltas.
    assert 1 <= usage.completion_tokens <= 13
    assert usage.finish_reason in ("stop", "length")
    assert 0 < usage.first_token_s <= usage.total_s
    assert usage.constrained is False


def test_grammar_is_forwarded_in_the_configured_field(server):
    backend = _backend(server, grammar_field="grammar")
    text, usage = backend.generate(_hello(max_tokens=8, grammar='root ::= "yes" | "no"'))
    assert text in ("yes", "no")
    assert usage.constrained is True
    unconstrained = _backend(server, grammar_field="")
    text, usage = unconstrained.generate(_hello(max_tokens=8, grammar='root ::= "yes" | "no"'))
    assert usage.constrained is False and text not in ("yes", "no")


def test_stop_strings_are_sent_to_the_server(server):
    backend = _backend(server)
    full, _ = backend.generate(_hello(max_tokens=16))
    stop = full.strip().split()[1]
    cut, _ = backend.generate(_hello(max_tokens=16, stop=(stop,)))
    assert stop not in cut and full.startswith(cut)


def test_concurrent_answers_share_one_backend(server):
    backend = _backend(server)
    expected, _ = backend.generate(_hello(max_tokens=8))
    results: list[str] = []
    threads = [
        threading.Thread(target=lambda: results.append(backend.generate(_hello(max_tokens=8))[0]))
        for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [expected, expected]


def test_nothing_listening_is_a_clear_error():
    backend = _backend(f"http://127.0.0.1:{_free_port()}")
    with pytest.raises(BackendError, match="cannot connect to the OpenAI-compatible server"):
        backend.generate(_hello(max_tokens=4))


def test_http_errors_carry_the_status(server):
    backend = _backend(server + "/wrong")
    with pytest.raises(BackendError, match="HTTP 404"):
        backend.generate(_hello(max_tokens=4))


def test_a_stream_that_ends_without_events_is_an_error(server):
    # Over-long prompts make this server answer 200 and close the stream empty.
    backend = _backend(server)
    request = GenerationRequest(
        messages=[{"role": "user", "content": "word " * 3000}], max_tokens=4
    )
    with pytest.raises(BackendError, match="without sending any event"):
        backend.generate(request)


def test_a_slow_server_times_out_with_the_setting_named(server):
    backend = _backend(server, timeout_s=0.05)
    request = GenerationRequest(
        messages=[{"role": "user", "content": "word " * 1500}], max_tokens=4
    )
    with pytest.raises(BackendError, match="LLM_OPENAI_TIMEOUT_S"):
        backend.generate(request)


def test_configuration_errors_are_backend_errors():
    with pytest.raises(BackendError, match="base_url"):
        backend_from_config({"kind": "openai", "model": "m"})
    with pytest.raises(BackendError, match="model"):
        backend_from_config({"kind": "openai", "base_url": "http://127.0.0.1:1"})
    with pytest.raises(BackendError, match="unknown LLM backend kind"):
        backend_from_config({"kind": "gpt"})


def test_url_and_request_body():
    assert chat_completions_url("http://h:8000") == "http://h:8000/v1/chat/completions"
    assert chat_completions_url("http://h:8000/v1/") == "http://h:8000/v1/chat/completions"
    backend = _backend("http://h:8000", grammar_field="structured_outputs.grammar", api_key="k")
    body = backend.body(_hello(max_tokens=5, grammar="root ::= x", stop=("\n\n",)))
    assert body["structured_outputs"] == {"grammar": "root ::= x"}  # vLLM's newer spelling
    assert body["stop"] == ["\n\n"] and body["stream"] is True and body["max_tokens"] == 5


def test_sse_framing_usage_and_malformed_streams():
    lines = [
        ": keep-alive",
        'data: {"choices": [{"delta": {"content": "Hi"}}]}',
        "",
        "event: message",
        'data: {"choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": 3,',
        'data:  "prompt_tokens_details": {"cached_tokens": 8}}}',
        "",
        "data: [DONE]",
        "",
        'data: {"never": "read"}',
    ]
    payloads = list(_sse_payloads(iter(lines), "u"))
    assert len(payloads) == 2
    usage = Usage()
    _read_usage(payloads[1], usage)
    assert (usage.prompt_tokens, usage.completion_tokens, usage.cached_prompt_tokens) == (12, 3, 8)
    _read_usage({"timings": {"prompt_ms": 250.0, "predicted_ms": 500.0}}, usage)
    assert (usage.prefill_s, usage.decode_s) == (0.25, 0.5)
    with pytest.raises(BackendError, match="malformed JSON"):
        list(_sse_payloads(iter(["data: {not json", ""]), "u"))
    with pytest.raises(BackendError, match="malformed event stream"):
        list(_sse_payloads(iter(["<html>502 Bad Gateway</html>"]), "u"))


def test_a_stream_cut_short_is_an_error_not_a_short_answer():
    chunks = [
        {"choices": [{"delta": {"role": "assistant"}}]},
        {"choices": [{"delta": {"content": "Hel"}}]},
    ]
    usage = Usage()
    with pytest.raises(BackendError, match="before finishing"):
        list(stream_deltas(iter(chunks), usage, "u"))
    done = [*chunks, {"choices": [{"delta": {}, "finish_reason": "length"}]}]
    usage = Usage()
    assert list(stream_deltas(iter(done), usage, "u")) == ["Hel"]
    assert usage.finish_reason == "length"
    with pytest.raises(BackendError, match="mid-stream"):
        list(stream_deltas(iter([{"error": {"message": "out of memory"}}]), Usage(), "u"))
