"""The guard's second opinion: a harm head over the local LLM's own hidden states.

The first learned layer (learned.py) reads the question's sentence embedding and n-grams. On the
near misses (harmful requests phrased politely, harmless ones with alarming words) that
embedding is at its limit: no threshold meets both the harmful-caught and harmless-refused
targets on dev. The LLM the product already ships reads a request differently; on 1,600 dev near
misses (out of fold, logistic, 3% of harmless refused) its mean-pooled last hidden state caught
0.64 / 0.59 of harmful requests (en / zh) where the sentence embedding alone caught 0.45 / 0.36
(docs/decisions.md).

It costs a forward pass (~0.15 s on two CPU cores for a 0.5B model), so it runs as a cascade:
only questions the first head scores at or above ``floor`` (its language's) are encoded, and for
those the decision is the mean of the two heads' logits against the cascade's own threshold.
Below the floor the first head's "safe" stands, which keeps the guard's p50 where it was: the
floor is set so that nearly every ordinary question stays below it (the fit reports the share).

The head and its arithmetic are ingestion/cascade.py, the encoder llm_backend/hidden.py (shared
with ingestion's planted-instruction cascade). The head file (``data/safety_hidden.json``,
written by ``manage.py safety_fit``) names the model's SHA-256: features of another model mean
nothing to it, so with another model configured the cascade is off (logged once) and the first
head decides alone.
"""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path

from django.conf import settings

from ingestion.cascade import HiddenHead, combined, logit
from llm_backend.hidden import HiddenEncoder, head_for_model, model_sha256
from llm_backend.hidden import encoder_for as _encoder_for

__all__ = [
    "HiddenHead",
    "combined",
    "encoder_for",
    "hidden_head",
    "hidden_score",
    "logit",
    "model_sha256",
]

logger = logging.getLogger(__name__)

SAFETY_HIDDEN_FILE = Path(__file__).resolve().parent / "data" / "safety_hidden.json"


def encoder_for(path: str) -> HiddenEncoder:
    return _encoder_for(path, settings.SAFETY_HIDDEN_THREADS)


def hidden_head() -> HiddenHead | None:
    """The configured head, or None when the cascade is off, not fitted, or fitted on another
    model than the one configured (SAFETY_HIDDEN_MODEL)."""
    if not settings.SAFETY_HIDDEN:
        return None
    head, why = head_for_model(
        str(settings.SAFETY_HIDDEN_PATH or SAFETY_HIDDEN_FILE), Path(settings.SAFETY_HIDDEN_MODEL)
    )
    if head is None:
        _warn_once(f"harm cascade off: {why}")
    return head


@cache
def _warn_once(message: str) -> None:
    logger.warning("%s", message)


def hidden_score(text: str) -> float | None:
    """The hidden-state head's harm probability for one question, or None when it is off."""
    head = hidden_head()
    if head is None:
        return None
    try:
        encoder = encoder_for(str(settings.SAFETY_HIDDEN_MODEL))
    except (ImportError, ValueError, RuntimeError) as exc:
        # No llama.cpp here (a deployment that only talks to an inference server), or a model
        # it cannot load: the first head decides alone, as with the cascade switched off.
        _warn_once(f"harm cascade off: cannot load {settings.SAFETY_HIDDEN_MODEL}: {exc}")
        return None
    return float(head.probability(encoder.encode([text]))[0])
