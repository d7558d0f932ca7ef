"""Text generation backends for the answer pipeline (plain Python, no Django).

One interface (``base``): a ``GenerationRequest`` in, a ``GenerationStream`` of text deltas out,
with ``Usage`` (tokens, prefill/decode/first-token timings, whether a grammar was enforced) filled
when the stream ends. Backends, chosen by ``backend_from_config({"kind": ...})``:

- ``llamacpp``: in-process GGUF through llama.cpp, grammar-constrained (the default; the default
  model is assembled by ``python -m llm_backend.model_files assemble``);
- ``transformers``: a local Hugging Face model directory with an optional PEFT LoRA adapter;
- ``openai``: any OpenAI-compatible server (vLLM, SGLang, llama.cpp server);
- ``extractive``: no model; quotes the passage sentences that best support the question.

``grammars.citation_grammar`` builds the GBNF for the cited-answer format; ``bench`` measures
speed against the machine's memory-bandwidth ceiling; ``lora`` converts a fine-tuned PEFT adapter
to the GGUF LoRA llama.cpp serves, and chooses and checks the one to serve.
"""

from llm_backend.base import (
    Backend,
    BackendError,
    GenerationRequest,
    GenerationStream,
    Usage,
)
from llm_backend.factory import KINDS, backend_from_config

__all__ = [
    "KINDS",
    "Backend",
    "BackendError",
    "GenerationRequest",
    "GenerationStream",
    "Usage",
    "backend_from_config",
]
