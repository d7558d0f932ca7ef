"""In-process GGUF generation through llama.cpp (llama-cpp-python): the default backend.

Loading: the file must exist (a missing default model names the command that assembles it), and
when an expected SHA-256 is configured the file is hashed and compared *before* llama.cpp opens it,
so a swapped or truncated file never runs. ``model_id`` is always "<file stem>@sha256:<12 hex>".

A LoRA adapter (``lora_path``, a GGUF LoRA from ``llm_backend.lora``) is checked the same way
before llama.cpp opens it, and must have been made for this base (``lora_base_sha256``: refused
with a log line otherwise, and the base serves alone). ``model_id`` then names both,
"<stem>@sha256:<12>+lora@sha256:<12>", and ``adapter_id`` is the adapter's registry fingerprint,
so every answer records which adapter wrote it.

Generation drives ``Llama.generate`` token by token rather than ``create_chat_completion``, for
three reasons: the engine's own perf counters give prefill and decode time separately (reset before
each request), the exact prompt token count and cache reuse are known, and closing the stream stops
decoding at the next token. The prompt is rendered with the chat template stored in the GGUF
(ChatML when it has none).

Grammars: applying a grammar to all 151,936 candidates of Qwen's vocabulary costs about as much as
the decode step itself (wall decode fell from ~27 to ~10.5 tok/s on one thread). ``_Grammar`` does
what llama.cpp's own common sampler does: at temperature 0 it first asks the grammar whether the
model's greedy choice is allowed (one candidate, microseconds) and masks the whole vocabulary only
when it is not — at sentence ends and for the final end-of-text, mostly. With sampling
(temperature > 0) every step is masked in full. An invalid grammar is a BackendError (llama.cpp's
parser returns no sampler, which would otherwise crash the chain).
"""

from __future__ import annotations

import codecs
import ctypes
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from llm_backend.base import (
    BackendError,
    BaseBackend,
    GenerationRequest,
    GenerationStream,
    Usage,
    stop_at_strings,
)
from llm_backend.hf import CHATML_TEMPLATE
from llm_backend.lora import LoraFile, lora_check
from llm_backend.model_files import QWEN_FILENAME, file_sha256


def missing_model_hint(path: Path) -> str:
    if path.name == QWEN_FILENAME:
        return (
            f"the model file {path} does not exist; assemble it with "
            f"`python -m llm_backend.model_files assemble --dest {path.parent}` "
            "(`make install` does this), or set LLM_MODEL_PATH to another GGUF file"
        )
    return f"the model file {path} does not exist; set LLM_MODEL_PATH to a GGUF file"


AMX_HINT = (
    "this llama.cpp build uses Intel AMX kernels, which segfault on the first matrix multiply of "
    "Q4_K models on some hosts (llama.cpp issue 20824) and take the whole process down. Rebuild "
    "it without them: `make clean install`, or CMAKE_ARGS=\"-DCMAKE_C_FLAGS='-mno-amx-tile "
    "-mno-amx-int8 -mno-amx-bf16' -DCMAKE_CXX_FLAGS='-mno-amx-tile -mno-amx-int8 -mno-amx-bf16'\" "
    "pip install --no-cache-dir --force-reinstall --no-deps llama-cpp-python==0.3.36. Set "
    "LLM_ALLOW_AMX=1 only on a host where this model was seen to run with AMX"
)


def has_amx(system_info: str) -> bool:
    """Whether a llama.cpp build reports its AMX kernels (``llama_print_system_info``)."""
    return "AMX_INT8 = 1" in system_info


def default_threads() -> int:
    """One thread per core but one, so the web process and the embedder keep a core.

    llama.cpp's threads wait for each other at every layer by spinning; when another process takes
    one of their cores, every step stalls for a scheduler slice. Measured on a 2-core machine
    under load (README "LLM backends"): 2 threads decoded 2.7 tok/s, 1 thread 24 tok/s.
    """
    return max(1, (os.cpu_count() or 1) - 1)


class LlamaCppBackend(BaseBackend):
    kind = "llamacpp"

    def __init__(
        self,
        *,
        model_path: Path | str,
        sha256: str | None = None,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        n_threads_batch: int | None = None,
        n_gpu_layers: int = 0,
        n_batch: int = 512,
        chat_format: str | None = None,
        grammar_check_first: bool = True,
        allow_amx: bool = False,
        lora_path: Path | str | None = None,
        lora_sha256: str | None = None,
        lora_base_sha256: str | None = None,
        lora_id: str | None = None,
        lora_scale: float = 1.0,
    ) -> None:
        path = Path(model_path)
        if not path.is_file():
            raise BackendError(missing_model_hint(path))
        actual = file_sha256(path)
        if sha256 and actual != sha256.lower():
            raise BackendError(
                f"{path} has sha256 {actual}, but {sha256} is expected (LLM_MODEL_SHA256): the "
                "file is not the pinned model; re-assemble it (python -m llm_backend.model_files "
                "assemble) or pin the new hash after checking where the file came from"
            )
        model_id, lora = f"{path.stem}@sha256:{actual[:12]}", None
        if lora_path:
            wanted = LoraFile(
                Path(lora_path), lora_sha256 or "", lora_base_sha256 or "", lora_id or ""
            )
            lora = lora_check(wanted, base_sha256=actual, base_name=str(path))
        if lora is not None:
            model_id += f"+lora@sha256:{lora.sha256[:12]}"
        super().__init__(model_id=model_id, adapter_id=lora.label() if lora else None)
        self.lora = lora  # None: the base alone (none configured, or refused for another base)
        try:
            import llama_cpp
        except ImportError as exc:
            raise BackendError(
                "llama-cpp-python is not installed: pip install llama-cpp-python==0.3.36 "
                "(or choose another backend with LLM_BACKEND)"
            ) from exc
        self._llama_cpp = llama_cpp
        # A clear error instead of a segfault that no caller can catch.
        if not allow_amx and has_amx(llama_cpp.llama_print_system_info().decode(errors="replace")):
            raise BackendError(AMX_HINT)
        threads = n_threads or default_threads()
        try:
            self._llm = llama_cpp.Llama(
                model_path=str(path),
                n_ctx=n_ctx,
                n_batch=min(n_batch, n_ctx),
                n_threads=threads,
                # Prefill is compute-bound and short, so it may use more threads than decoding.
                n_threads_batch=n_threads_batch or threads,
                n_gpu_layers=n_gpu_layers,
                lora_path=str(lora.path) if lora else None,
                lora_scale=lora_scale,
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise BackendError(f"llama.cpp could not load {path}: {exc}") from exc
        self.path = path
        self.n_ctx = n_ctx
        self.n_threads = threads
        self.n_threads_batch = n_threads_batch or threads
        self._formatter, self._add_bos = self._chat_formatter(chat_format)
        # False masks the whole vocabulary at every step (same output, slower): for comparison.
        self.grammar_check_first = grammar_check_first

    def _chat_formatter(self, chat_format: str | None) -> tuple[Any, bool]:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        llm = self._llm
        template = chat_format or llm.metadata.get("tokenizer.chat_template") or CHATML_TEMPLATE
        eos = llm.token_eos()
        bos = llm.token_bos()
        formatter = Jinja2ChatFormatter(
            template=template,
            eos_token=llm._model.token_get_text(eos) if eos != -1 else "",
            bos_token=llm._model.token_get_text(bos) if bos != -1 else "",
        )
        # Templates that write the BOS token themselves must not get a second one from tokenize.
        return formatter, "bos_token" not in template

    def prompt_tokens(self, messages: list[dict[str, str]]) -> list[int]:
        rendered = self._formatter(messages=messages).prompt
        return self._llm.tokenize(rendered.encode("utf-8"), add_bos=self._add_bos, special=True)

    def _grammar(self, text: str, *, greedy: bool) -> _Grammar:
        return _Grammar(self._llama_cpp, self._llm, text, greedy=greedy)

    def stream(self, request: GenerationRequest) -> GenerationStream:
        def produce(usage: Usage) -> Iterator[str]:
            yield from stop_at_strings(self._tokens(request, usage), request.stop, usage)

        return GenerationStream(produce, lock=self._lock, constrained=bool(request.grammar))

    def _tokens(self, request: GenerationRequest, usage: Usage) -> Iterator[str]:
        llama_cpp, llm = self._llama_cpp, self._llm
        tokens = self.prompt_tokens(request.messages)
        room = self.n_ctx - len(tokens)
        if room < 1:
            raise BackendError(
                f"the prompt is {len(tokens)} tokens but the context holds {self.n_ctx}; "
                "send fewer or shorter passages or raise LLM_N_CTX"
            )
        max_tokens = min(request.max_tokens, room)
        usage.prompt_tokens = len(tokens)
        grammar = (
            self._grammar(
                request.grammar, greedy=request.temperature <= 0 and self.grammar_check_first
            )
            if request.grammar
            else None
        )
        llm.set_seed(request.seed)
        context = llm._ctx.ctx
        llama_cpp.llama_perf_context_reset(context)
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        vocab = llm._model.vocab
        generated = 0
        tokens_out = llm.generate(
            tokens,
            temp=request.temperature,
            top_k=40,
            top_p=0.95,
            min_p=0.05,
            repeat_penalty=1.0,
            logits_processor=[grammar] if grammar is not None else None,
        )
        try:
            for token in tokens_out:
                if llama_cpp.llama_vocab_is_eog(vocab, token):
                    usage.finish_reason = "stop"
                    break
                if grammar is not None:
                    grammar.accept(token)
                generated += 1
                text = decoder.decode(llm.detokenize([token]))
                if text:
                    yield text
                if generated >= max_tokens:
                    usage.finish_reason = "length"
                    break
            if tail := decoder.decode(b"", final=True):
                yield tail
        finally:
            tokens_out.close()
            if grammar is not None:
                grammar.close()
            usage.completion_tokens = generated
            perf = llama_cpp.llama_perf_context(context)
            # Batched prompt evaluation vs one-token decode steps, as the engine timed them.
            usage.prefill_s = perf.t_p_eval_ms / 1000 if perf.n_p_eval else None
            usage.decode_s = perf.t_eval_ms / 1000 if perf.n_eval else None
            usage.cached_prompt_tokens = max(0, len(tokens) - perf.n_p_eval)


class _Grammar:
    """A GBNF constraint as a logits processor that checks the greedy choice before masking all.

    Used as ``logits_processor`` of ``Llama.generate`` (first in its sampler chain, where the
    candidates are still in vocabulary order); the caller feeds every emitted token to ``accept``
    and calls ``close`` at the end.
    """

    def __init__(self, llama_cpp: Any, llm: Any, text: str, *, greedy: bool) -> None:
        import numpy as np

        self._lib = llama_cpp
        self._greedy = greedy
        self._sampler = llama_cpp.llama_sampler_init_grammar(
            llm._model.vocab, text.encode("utf-8"), b"root"
        )
        if not self._sampler:
            raise BackendError("llama.cpp rejected the grammar (its parse error is in the log)")
        n_vocab = llm.n_vocab()
        token_data = llama_cpp.llama_token_data
        self._one = (token_data * 1)()
        self._one_array = llama_cpp.llama_token_data_array(
            data=self._one, size=1, selected=-1, sorted=False
        )
        self._buffer = np.zeros(
            n_vocab, dtype=np.dtype([("id", np.intc), ("logit", np.single), ("p", np.single)])
        )
        self._buffer["id"] = np.arange(n_vocab, dtype=np.intc)
        self._all = llama_cpp.llama_token_data_array(
            data=ctypes.cast(self._buffer.ctypes.data, ctypes.POINTER(token_data)),
            size=n_vocab,
            selected=-1,
            sorted=False,
        )
        self.full_masks = 0  # how often the whole vocabulary had to be masked (for tests)

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import numpy as np

        if self._greedy:
            best = int(np.argmax(scores))
            self._one[0].id = best
            self._one[0].logit = float(scores[best])
            self._one_array.size, self._one_array.selected = 1, -1
            self._lib.llama_sampler_apply(self._sampler, ctypes.byref(self._one_array))
            if not math.isinf(self._one[0].logit):
                return scores  # the model's own choice is allowed: nothing to mask
        self.full_masks += 1
        self._buffer["logit"] = scores
        self._all.size, self._all.selected, self._all.sorted = len(self._buffer), -1, False
        self._lib.llama_sampler_apply(self._sampler, ctypes.byref(self._all))
        return self._buffer["logit"]

    def accept(self, token: int) -> None:
        self._lib.llama_sampler_accept(self._sampler, token)

    def close(self) -> None:
        if self._sampler:
            self._lib.llama_sampler_free(self._sampler)
            self._sampler = None
