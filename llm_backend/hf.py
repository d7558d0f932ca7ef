"""A local Hugging Face model directory through transformers, with an optional PEFT LoRA adapter.

This is the backend fine-tuning feeds: the base model directory plus the adapter directory a
fine-tune writes. Nothing is ever downloaded: HF_HUB_OFFLINE and TRANSFORMERS_OFFLINE are forced
on before transformers is imported, and every load passes ``local_files_only``.

Generation runs ``model.generate`` in a worker thread and reads text from a TextIteratorStreamer.
Closing the stream early (or hitting a stop string) sets an event that a stopping criterion checks
at every step, so the thread ends within one token instead of running to ``max_tokens``.

Grammars: ``request.grammar`` (the GBNF the llama.cpp backend enforces, usually
``grammars.citation_grammar``) is compiled by ``gbnf`` into a character automaton and enforced by
``constrain``'s logits processor, so both backends hold the model to the same language;
``usage.constrained`` is True then. As in the llama.cpp backend, greedy decoding checks the model's
own token first and masks only when it is refused; sampling keeps the best allowed tokens up to the
sampler's top-k. Unlike llama.cpp, the processor also keeps room to finish the answer within
``max_tokens`` (see ``constrain``). Invalid GBNF is a BackendError; a recursive grammar, which a
character automaton cannot hold, is logged and ignored (``usage.constrained`` False). Decoded text
is not "cleaned up" (no spaces dropped before punctuation), so the text read is the text the grammar
checked.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import threading
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
from llm_backend.constrain import GrammarLogitsProcessor, TokenConstraint, Vocabulary
from llm_backend.gbnf import GrammarError, UnsupportedGrammar, compile_grammar

logger = logging.getLogger(__name__)

# Used when a model directory ships no chat template (a bare base model or a test model): ChatML,
# the format of the Qwen family the product defaults to.
CHATML_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{{ message['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt")


def force_offline() -> None:
    # Set, not setdefault: a deployment's HF_HUB_OFFLINE=0 must not make a worker download weights.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    # huggingface_hub reads the variable once, at import: a process that imported it earlier
    # (sentence-transformers for embeddings) needs its constant set too.
    constants = sys.modules.get("huggingface_hub.constants")
    if constants is not None:
        constants.HF_HUB_OFFLINE = True


def directory_fingerprint(path: Path, *, hash_weights: bool) -> str:
    """A short identity for a model or adapter directory, recorded with every answer.

    Adapters are small, so their weights are hashed in full. For a base model (gigabytes) the
    config and the names and sizes of the weight files are hashed instead: cheap at start-up, and
    it changes whenever a different model is put in place.
    """
    digest = hashlib.sha256()
    for file in sorted(p for p in path.iterdir() if p.is_file()):
        if file.suffix in _WEIGHT_SUFFIXES:
            digest.update(file.name.encode())
            if hash_weights:
                with open(file, "rb") as f:
                    while block := f.read(1 << 22):
                        digest.update(block)
            else:
                digest.update(str(file.stat().st_size).encode())
        elif file.name in ("config.json", "adapter_config.json"):
            digest.update(file.read_bytes())
    return f"{path.name}@sha256:{digest.hexdigest()[:12]}"


def _resolve_device(torch: Any, device: str) -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise BackendError(f"LLM device {device!r} was asked for but torch sees no CUDA device")
    return device


def _resolve_dtype(torch: Any, dtype: str, device: str) -> Any:
    if dtype == "auto":
        # bf16 halves memory traffic on GPUs; CPU kernels are fastest and exact in fp32.
        return torch.bfloat16 if device.startswith("cuda") else torch.float32
    try:
        return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[
            dtype
        ]
    except KeyError:
        raise BackendError(
            f"unknown dtype {dtype!r}; use auto, float32, bfloat16 or float16"
        ) from None


class TransformersBackend(BaseBackend):
    kind = "transformers"

    def __init__(
        self,
        *,
        model_dir: str | Path,
        adapter_dir: str | Path | None = None,
        device: str = "auto",
        dtype: str = "auto",
        n_threads: int | None = None,
    ) -> None:
        force_offline()
        model_path = Path(model_dir)
        if not (model_path / "config.json").is_file():
            raise BackendError(
                f"no Hugging Face model at {model_path} (config.json missing); set "
                "LLM_HF_MODEL_DIR to a local model directory (save_pretrained output)"
            )
        adapter_path = Path(adapter_dir) if adapter_dir else None
        if adapter_path is not None and not (adapter_path / "adapter_config.json").is_file():
            raise BackendError(
                f"no PEFT adapter at {adapter_path} (adapter_config.json missing); fix "
                "LLM_ADAPTER_DIR or leave it empty to use the base model"
            )
        import torch
        import transformers

        if n_threads:
            torch.set_num_threads(n_threads)  # process-wide: torch has no per-model thread pool
        self._torch = torch
        self.device = _resolve_device(torch, device)
        torch_dtype = _resolve_dtype(torch, dtype, self.device)
        try:
            tokenizer = transformers.AutoTokenizer.from_pretrained(
                model_path, local_files_only=True
            )
            model = transformers.AutoModelForCausalLM.from_pretrained(
                model_path, dtype=torch_dtype, local_files_only=True
            )
        except (OSError, ValueError) as exc:
            raise BackendError(f"cannot load the model in {model_path}: {exc}") from exc
        if adapter_path is not None:
            from peft import PeftModel

            try:
                model = PeftModel.from_pretrained(model, adapter_path, is_trainable=False)
            except (OSError, ValueError, RuntimeError) as exc:
                raise BackendError(
                    f"cannot apply the adapter in {adapter_path} to {model_path}: {exc}"
                ) from exc
        if not tokenizer.chat_template:
            tokenizer.chat_template = CHATML_TEMPLATE
        self.tokenizer = tokenizer
        self.model = model.to(self.device).eval()
        self._vocabulary: Vocabulary | None = None  # token bytes, built for the first grammar
        self._constraints: dict[str, TokenConstraint] = {}
        super().__init__(
            model_id=directory_fingerprint(model_path, hash_weights=False),
            adapter_id=(
                directory_fingerprint(adapter_path, hash_weights=True) if adapter_path else None
            ),
        )

    def _constraint(self, grammar: str) -> TokenConstraint | None:
        """The grammar over this model's vocabulary; None when it cannot be enforced here."""
        if grammar in self._constraints:
            return self._constraints[grammar]
        try:
            automaton = compile_grammar(grammar)
        except UnsupportedGrammar as exc:
            logger.warning("generating without the grammar: %s", exc)
            return None
        except GrammarError as exc:
            raise BackendError(f"the grammar is not valid GBNF: {exc}") from exc
        if not self._eos_ids():
            raise BackendError(
                f"{self.model_id} names no end-of-text token (eos_token_id), so a grammar could "
                "never let it end; set one in the model's generation_config.json"
            )
        if self._vocabulary is None:
            size = int(getattr(self.model.config, "vocab_size", 0) or len(self.tokenizer))
            self._vocabulary = Vocabulary.from_tokenizer(
                self.tokenizer, max(size, len(self.tokenizer))
            )
        if len(self._constraints) >= 8:  # a few grammars (label sets) recur; forget the oldest
            self._constraints.pop(next(iter(self._constraints)))
        constraint = self._constraints[grammar] = TokenConstraint(automaton, self._vocabulary)
        return constraint

    def _eos_ids(self) -> list[int]:
        eos = self.model.generation_config.eos_token_id
        if eos is None:
            eos = self.tokenizer.eos_token_id
        return [int(i) for i in (eos if isinstance(eos, list | tuple) else [eos]) if i is not None]

    def stream(self, request: GenerationRequest) -> GenerationStream:
        error: BackendError | None = None
        constraint = None
        if request.grammar:
            try:
                constraint = self._constraint(request.grammar)
            except BackendError as exc:  # raised when the stream is read, as generation errors are
                error = exc

        def produce(usage: Usage) -> Iterator[str]:
            if error is not None:
                raise error
            deltas = self._generate(request, usage, constraint)
            yield from stop_at_strings(deltas, request.stop, usage)

        return GenerationStream(produce, lock=self._lock, constrained=constraint is not None)

    def _generate(
        self, request: GenerationRequest, usage: Usage, constraint: TokenConstraint | None
    ) -> Iterator[str]:
        import transformers

        torch = self._torch
        inputs = self.tokenizer.apply_chat_template(
            request.messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
        ).to(self.device)
        prompt_len = int(inputs["input_ids"].shape[1])
        usage.prompt_tokens = prompt_len
        stop_event = threading.Event()
        streamer = transformers.TextIteratorStreamer(
            self.tokenizer,
            skip_prompt=True,
            skip_special_tokens=True,
            clean_up_tokenization_spaces=False,
            timeout=600.0,
        )

        class _StopOnEvent(transformers.StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> bool:
                return stop_event.is_set()

        kwargs: dict[str, Any] = {
            **inputs,
            "max_new_tokens": request.max_tokens,
            "streamer": streamer,
            "stopping_criteria": transformers.StoppingCriteriaList([_StopOnEvent()]),
            "pad_token_id": self.tokenizer.pad_token_id or self.tokenizer.eos_token_id,
        }
        if request.temperature > 0:
            kwargs.update(do_sample=True, temperature=request.temperature)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        if constraint is not None:
            eos_ids = self._eos_ids()
            processor = GrammarLogitsProcessor(
                constraint,
                prompt_len=prompt_len,
                eos_ids=eos_ids,
                # Sampling draws from the sampler's top-k after this (unset: transformers uses 50).
                keep=(self.model.generation_config.top_k or 50)
                if request.temperature > 0
                else None,
                max_new_tokens=request.max_tokens,
            )
            kwargs["logits_processor"] = transformers.LogitsProcessorList([processor])
            kwargs["eos_token_id"] = eos_ids  # stop on whichever end-of-text the grammar allowed
        result: dict[str, Any] = {}

        def run() -> None:
            try:
                if request.temperature > 0:
                    torch.manual_seed(request.seed)
                with torch.inference_mode():
                    result["ids"] = self.model.generate(**kwargs)
            except BaseException as exc:  # re-raised in the reading thread below
                result["error"] = exc
                streamer.end()  # wake the reader, which would otherwise wait for text forever

        thread = threading.Thread(target=run, name="hf-generate", daemon=True)
        thread.start()
        try:
            yield from streamer
        finally:
            stop_event.set()
            thread.join()
            if "ids" in result:
                usage.completion_tokens = int(result["ids"].shape[1]) - prompt_len
        if "error" in result:
            raise BackendError(f"generation failed in {self.model_id}: {result['error']}") from (
                result["error"]
            )
        if usage.finish_reason is None:
            usage.finish_reason = (
                "length" if usage.completion_tokens >= request.max_tokens else "stop"
            )
