"""The transformers backend on a tiny random Qwen2 saved to disk, with and without a LoRA adapter.

Nothing is downloaded: the model and its tokenizer are built in a temporary folder (tiny_hf.py) and
loaded back through the backend exactly as a fine-tuned model directory would be.
"""

from __future__ import annotations

import os

import pytest

from llm_backend import backend_from_config
from llm_backend.base import BackendError, GenerationRequest
from llm_backend.grammars import REFUSAL, citation_grammar, conforms

from .tiny_hf import tiny_lora, tiny_qwen2

pytestmark = pytest.mark.slow

REQUEST = GenerationRequest(
    messages=[{"role": "user", "content": "Can I renew my passport by mail?"}], max_tokens=12
)


@pytest.fixture(scope="module")
def model_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny-hf")
    base = tiny_qwen2(root / "base")
    return {
        "base": base,
        "lora": tiny_lora(base, root / "lora", scale=0.5),
        "zero": tiny_lora(base, root / "zero", scale=0.0),
    }


def _backend(model_dirs, adapter: str | None = None):
    return backend_from_config(
        {
            "kind": "transformers",
            "model_dir": str(model_dirs["base"]),
            "adapter_dir": str(model_dirs[adapter]) if adapter else "",
            "device": "cpu",
            "dtype": "float32",
            "n_threads": 1,
        }
    )


def test_local_model_streams_with_usage_and_runs_offline(model_dirs):
    backend = _backend(model_dirs)
    assert backend.kind == "transformers"
    assert backend.model_id.startswith("base@sha256:") and backend.adapter_id is None
    assert os.environ["HF_HUB_OFFLINE"] == "1" and os.environ["TRANSFORMERS_OFFLINE"] == "1"
    import huggingface_hub

    assert huggingface_hub.constants.HF_HUB_OFFLINE is True  # also when imported before us
    stream = backend.stream(REQUEST)
    deltas = list(stream)
    assert deltas and "".join(deltas)
    usage = stream.usage
    assert usage.prompt_tokens > 5
    assert usage.completion_tokens == 12 and usage.finish_reason == "length"
    assert usage.first_token_s is not None and usage.total_s >= usage.first_token_s
    assert usage.constrained is False  # no grammar was asked for


def test_lora_adapter_is_applied_and_identified(model_dirs):
    base_text, _ = _backend(model_dirs).generate(REQUEST)
    lora = _backend(model_dirs, "lora")
    assert lora.adapter_id is not None and lora.adapter_id.startswith("lora@sha256:")
    lora_text, _ = lora.generate(REQUEST)
    assert lora_text != base_text
    # An adapter whose B matrices are zero changes nothing: the base weights were not disturbed.
    zero = _backend(model_dirs, "zero")
    assert zero.adapter_id != lora.adapter_id
    assert zero.generate(REQUEST)[0] == base_text


def test_closing_early_stops_the_generation_thread(model_dirs):
    backend = _backend(model_dirs)
    request = GenerationRequest(messages=REQUEST.messages, max_tokens=200)
    stream = backend.stream(request)
    next(stream)
    stream.close()
    assert stream.usage.finish_reason == "closed"
    assert stream.usage.completion_tokens < 200
    assert backend.generate(REQUEST)[1].completion_tokens == 12  # the lock was released


def test_missing_directories_are_backend_errors(tmp_path, model_dirs):
    with pytest.raises(BackendError, match="LLM_HF_MODEL_DIR"):
        backend_from_config({"kind": "transformers", "model_dir": str(tmp_path)})
    with pytest.raises(BackendError, match="LLM_ADAPTER_DIR"):
        backend_from_config(
            {
                "kind": "transformers",
                "model_dir": str(model_dirs["base"]),
                "adapter_dir": str(tmp_path),
            }
        )
    with pytest.raises(BackendError, match="model_dir"):
        backend_from_config({"kind": "transformers"})


# --- the citation grammar, enforced by llm_backend.constrain ------------------------------------

LABELS = ["1", "2", "3"]
QUESTIONS = [
    "Can I renew my passport by mail?",
    "Do children apply in person?",
    "成年人可以邮寄续办护照吗？",
    "How long does renewal take? Cite the passage.",
]


def _cited(question: str, **kwargs) -> GenerationRequest:
    return GenerationRequest(
        messages=[{"role": "user", "content": f"[1] Adults may renew by mail.\n\n{question}"}],
        **{"max_tokens": 40, **kwargs},
    )


@pytest.mark.parametrize("latin_only", [False, True])
def test_a_random_model_under_the_grammar_always_writes_the_citation_format(model_dirs, latin_only):
    backend = _backend(model_dirs)
    grammar = citation_grammar(LABELS, max_sentences=2, latin_only=latin_only)
    for question in QUESTIONS:
        for temperature, seed in ((0.0, 0), (0.9, 1), (0.9, 2), (1.5, 3)):
            request = _cited(question, grammar=grammar, temperature=temperature, seed=seed)
            text, usage = backend.generate(request)
            assert usage.constrained is True
            assert text == REFUSAL or conforms(
                text, LABELS, max_sentences=2, latin_only=latin_only
            ), (question, temperature, text)
            assert usage.finish_reason in ("stop", "length")
            assert usage.completion_tokens <= 40


def test_without_the_grammar_the_same_model_does_not_write_the_format(model_dirs):
    # What the test above would see if the constraint did nothing.
    backend = _backend(model_dirs)
    texts = [
        backend.generate(_cited(question, temperature=temperature, seed=seed))[0]
        for question in QUESTIONS
        for temperature, seed in ((0.0, 0), (0.9, 1))
    ]
    assert sum(conforms(text, LABELS, max_sentences=2) for text in texts) <= 1, texts


def test_grammar_generation_is_reproducible_and_stop_and_close_still_work(model_dirs):
    backend = _backend(model_dirs)
    grammar = citation_grammar(LABELS, max_sentences=2)
    request = _cited(QUESTIONS[0], grammar=grammar, temperature=0.9, seed=5, max_tokens=60)
    full, _ = backend.generate(request)
    assert backend.generate(request)[0] == full  # same seed, same text
    assert "[" in full  # a marker always comes (the processor keeps room for one)
    # A stop string cuts the constrained text, as it does unconstrained.
    cut, cut_usage = backend.generate(GenerationRequest(**{**request.__dict__, "stop": ("[",)}))
    assert cut == full[: full.index("[")] and cut_usage.finish_reason == "stop"
    # Closing early stops the generation thread and releases the backend.
    stream = backend.stream(request)
    next(stream)
    stream.close()
    assert stream.usage.finish_reason == "closed" and stream.usage.constrained is True
    assert backend.generate(request)[0] == full


def test_invalid_or_recursive_grammars(model_dirs):
    backend = _backend(model_dirs)
    with pytest.raises(BackendError, match="not valid GBNF"):
        backend.generate(_cited(QUESTIONS[0], grammar="root ::= ["))
    # Recursive rules are not regular: generation goes on unconstrained, and says so.
    _, usage = backend.generate(
        _cited(QUESTIONS[0], grammar='root ::= "(" root ")" | "x"\n', max_tokens=8)
    )
    assert usage.constrained is False and usage.completion_tokens == 8
