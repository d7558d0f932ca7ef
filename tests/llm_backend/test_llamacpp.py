"""The in-process llama.cpp backend on real GGUF files from the installed wheels.

Qwen2.5-Coder-0.5B (the default model) is loaded once per session and asked for few tokens;
SmolLM2-135M (fast) covers the mechanics: stop strings, early close, concurrent use.
"""

from __future__ import annotations

import re
import threading

import pytest

from llm_backend import backend_from_config
from llm_backend.base import BackendError, GenerationRequest
from llm_backend.grammars import REFUSAL, citation_grammar, conforms
from llm_backend.llamacpp import has_amx
from llm_backend.model_files import QWEN_FILENAME, QWEN_SHA256

pytestmark = pytest.mark.slow

SOURCES = (
    "[1] Adults may renew a passport by mail if it was issued in the last 15 years, when they "
    "were 16 or older, and it is undamaged.\n"
    "[2] Mail renewal takes 6-8 weeks. Expedited service takes 2-3 weeks and costs $60 extra.\n"
    "[3] Children under 16 must apply in person with both parents."
)
SYSTEM = (
    "Answer the question using only the numbered sources. End every sentence with the number "
    "of the source it comes from, like [2]. If the sources do not answer, write NOT_IN_SOURCES."
)


def _ask(question: str, **kwargs) -> GenerationRequest:
    return GenerationRequest(
        messages=[
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": f"Sources:\n{SOURCES}\n\nQuestion: {question}"},
        ],
        **kwargs,
    )


def test_qwen_streams_text_with_usage_and_engine_timings(qwen_backend):
    assert qwen_backend.model_id == f"qwen2.5-coder-0.5b-instruct-q4_k_m@sha256:{QWEN_SHA256[:12]}"
    assert qwen_backend.adapter_id is None
    stream = qwen_backend.stream(_ask("How long does mail renewal take?", max_tokens=24))
    deltas = list(stream)
    usage = stream.usage
    assert len(deltas) >= 2 and "".join(deltas).strip()
    assert usage.prompt_tokens > 50
    assert 1 <= usage.completion_tokens <= 24
    assert usage.finish_reason in ("stop", "length")
    assert usage.prefill_s is not None and usage.prefill_s > 0
    assert usage.decode_s is not None and usage.decode_s > 0
    assert 0 < usage.first_token_s <= usage.total_s
    assert usage.constrained is False


def test_qwen_grammar_forces_the_citation_format(qwen_backend):
    labels = ["1", "2", "3"]
    grammar = citation_grammar(labels, max_sentences=1)
    questions = ("How long does mail renewal take?", "Can a 12-year-old renew by mail?")
    for question in questions:
        text, usage = qwen_backend.generate(_ask(question, max_tokens=48, grammar=grammar))
        assert usage.constrained is True
        assert usage.finish_reason == "stop", text  # the grammar ended it, not max_tokens
        assert conforms(text, labels, max_sentences=1), text
    # Without the grammar the same model does not reliably cite (why the grammar exists).
    refusal, _ = qwen_backend.generate(
        _ask("What is the capital of France?", max_tokens=48, grammar=grammar)
    )
    assert refusal == REFUSAL or conforms(refusal, labels, max_sentences=1)


def test_checking_the_greedy_choice_first_gives_the_fully_masked_output(qwen_backend):
    # The fast path masks the vocabulary only when the model's own choice breaks the grammar; the
    # text must be exactly what masking every step gives.
    grammar = citation_grammar(["1", "2", "3"], max_sentences=2)
    request = _ask("Can a 12-year-old renew by mail?", max_tokens=40, grammar=grammar)
    fast, fast_usage = qwen_backend.generate(request)
    qwen_backend.grammar_check_first = False
    try:
        full, full_usage = qwen_backend.generate(request)
    finally:
        qwen_backend.grammar_check_first = True
    assert fast == full
    assert fast_usage.completion_tokens == full_usage.completion_tokens


def test_qwen_writes_chinese_without_broken_characters(qwen_backend):
    request = GenerationRequest(
        messages=[{"role": "user", "content": "用一句话回答：护照可以邮寄续办吗？"}], max_tokens=20
    )
    deltas = list(qwen_backend.stream(request))
    text = "".join(deltas)
    assert re.search(r"[\u4e00-\u9fff]", text)
    assert "\ufffd" not in text  # multi-byte characters split across tokens are reassembled


def test_invalid_grammar_is_a_backend_error_not_a_crash(smollm2_backend):
    with pytest.raises(BackendError, match="grammar"):
        smollm2_backend.generate(
            GenerationRequest(messages=[{"role": "user", "content": "hi"}], grammar="root ::= [")
        )
    # The backend still works afterwards.
    text, _ = smollm2_backend.generate(
        GenerationRequest(messages=[{"role": "user", "content": "hi"}], max_tokens=4)
    )
    assert text


def test_stop_strings_cut_the_text_and_end_generation(smollm2_backend):
    request = GenerationRequest(
        messages=[{"role": "user", "content": "Write a short story about a cat."}], max_tokens=32
    )
    full, usage = smollm2_backend.generate(request)
    assert usage.finish_reason == "length" and len(full) > 40
    stop = full[20:24]
    cut, usage = smollm2_backend.generate(
        GenerationRequest(messages=request.messages, max_tokens=32, stop=(stop,))
    )
    assert cut == full[: full.index(stop)]
    assert usage.finish_reason == "stop"
    assert usage.completion_tokens < 32


def test_closing_a_stream_early_stops_and_frees_the_backend(smollm2_backend):
    request = GenerationRequest(
        messages=[{"role": "user", "content": "Count to fifty."}], max_tokens=64
    )
    stream = smollm2_backend.stream(request)
    next(stream)
    stream.close()
    assert stream.usage.finish_reason == "closed"
    assert stream.usage.completion_tokens < 5
    text, usage = smollm2_backend.generate(
        GenerationRequest(messages=request.messages, max_tokens=4)
    )
    assert text and usage.completion_tokens <= 4


def test_two_threads_share_one_backend_and_get_the_sequential_answers(smollm2_backend):
    requests = [
        GenerationRequest(messages=[{"role": "user", "content": q}], max_tokens=12)
        for q in ("Name a colour.", "Name an animal.")
    ]
    expected = [smollm2_backend.generate(r)[0] for r in requests]
    results: dict[int, str] = {}

    def run(i: int) -> None:
        results[i] = smollm2_backend.generate(requests[i])[0]

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [results[0], results[1]] == expected


def test_wrong_hash_is_refused_before_loading(smollm2_gguf):
    with pytest.raises(BackendError, match="expected"):
        backend_from_config(
            {"kind": "llamacpp", "model_path": str(smollm2_gguf), "sha256": QWEN_SHA256}
        )


def test_missing_default_model_names_the_command_that_fixes_it(tmp_path):
    with pytest.raises(BackendError) as excinfo:
        backend_from_config({"kind": "llamacpp", "model_path": str(tmp_path / QWEN_FILENAME)})
    assert f"python -m llm_backend.model_files assemble --dest {tmp_path}" in str(excinfo.value)
    with pytest.raises(BackendError, match="model_path"):
        backend_from_config({"kind": "llamacpp"})


def test_prompt_longer_than_the_context_is_a_clear_error(smollm2_backend):
    long = GenerationRequest(messages=[{"role": "user", "content": "word " * 2000}], max_tokens=4)
    with pytest.raises(BackendError, match="LLM_N_CTX"):
        smollm2_backend.generate(long)


def test_prefill_threads_are_set_apart_from_decode_threads(smollm2_gguf):
    backend = backend_from_config(
        {"kind": "llamacpp", "model_path": str(smollm2_gguf), "n_ctx": 512, "n_threads": 1,
         "n_threads_batch": 2}
    )  # fmt: skip
    assert (backend.n_threads, backend.n_threads_batch) == (1, 2)
    assert backend._llm.context_params.n_threads == 1
    assert backend._llm.context_params.n_threads_batch == 2
    _text, usage = backend.generate(_ask("How long does mail renewal take?", max_tokens=4))
    assert usage.completion_tokens >= 1


def test_the_installed_llama_cpp_build_has_no_amx_kernels():
    # `make install` compiles llama.cpp without AMX: its kernels segfault on Q4_K models on some
    # Sapphire Rapids hosts (they took this suite down on one), so the build must not carry them.
    import llama_cpp

    info = llama_cpp.llama_print_system_info().decode(errors="replace")
    assert "AVX" in info or "NEON" in info  # the real report, not an empty string
    assert not has_amx(info)


def test_a_build_with_amx_is_refused_with_the_rebuild_command(smollm2_gguf, monkeypatch):
    import llama_cpp

    # The build is the edge here: report AMX as an AMX build would.
    amx_info = b"CPU : AVX2 = 1 | AVX512 = 1 | AMX_INT8 = 1 | OPENMP = 1 | "
    monkeypatch.setattr(llama_cpp, "llama_print_system_info", lambda: amx_info)
    config = {"kind": "llamacpp", "model_path": str(smollm2_gguf), "n_ctx": 512}
    with pytest.raises(BackendError) as excinfo:
        backend_from_config(config)
    assert "make clean install" in str(excinfo.value)
    assert "LLM_ALLOW_AMX" in str(excinfo.value)
    # The operator's override loads it (this build has no AMX kernels, so it is safe here).
    backend = backend_from_config({**config, "allow_amx": True})
    assert backend.generate(_ask("How long does mail renewal take?", max_tokens=2))[
        1
    ].completion_tokens
