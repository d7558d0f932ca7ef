"""The question redactor's learned name tagger: a head over the local LLM's per-token states.

The redactor's rules (pii.py) find names after cue words, in jieba's segmentation and through
spaCy's English model. On a second labelled set nobody tuned them on they found about half of
the names (redaction v2 dev, names 0.52): names with no cue, names that are ordinary words
(海燕, 平安, Hope), nicknames, compound and minority names, names spaCy's small model does not
know. Lists of cues do not close that gap; a reader that knows names does. The product's own LLM
does: each token of the question is encoded (``llm_backend.hidden.TokenEncoder``, the text read
twice so each state has seen the whole question), a logistic head scores every token "part of a
person's name", and runs of tokens at or above the language's threshold become NAME findings,
beside the rules' (the redactor keeps the union). ``manage.py name_fit`` fits the head on the
labelled sets' dev and training rows against unlabelled questions from every dataset
(portal/evaluation/name_fit.py), and writes ``data/name_tagger.json``, which names the model's
SHA-256: with another model configured, or without llama.cpp, the tagger is off (logged once)
and the rules decide alone.

Cost: one forward pass over twice the question (~0.3 s on two CPU cores for the 0.5B model),
too much for every question (the guard's budget is a few ms). So a *gate* goes first: a head
over the question's sentence embedding and n-grams (ingestion/classify.py, the guard's own
embedder, whose embedding of the question the guard reuses), "does this question name
someone?". Only a question scoring at or above its language's floor (chosen on dev to keep 99%
of the questions that name someone) is read by the LLM; below it the rules decide alone.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from ingestion.cascade import HiddenHead
from ingestion.classify import EmbeddingClassifier
from textkit import CJK_RANGES

logger = logging.getLogger(__name__)

NAME_TAGGER_FILE = Path(__file__).resolve().parent / "data" / "name_tagger.json"

# Joins two flagged tokens into one name: nothing, a space, or the separators names carry
# (阿依古丽·买买提, Mary-Kate, O'Neill).
_JOIN = re.compile(r"[\s·•\-'’.]*")
# Trimmed from a run's ends: a token may carry the space or punctuation beside a name.
_EDGE = " \t\n\r,.;:!?()[]{}\"'“”‘’，。、；：？！（）《》【】·-"
_POSSESSIVE = re.compile(r"['’]s$")


_HAN = re.compile(f"[{CJK_RANGES}]")
_LATIN_LETTER = re.compile(r"[A-Za-z]\.?")


def _latin(ch: str) -> bool:
    """A letter of an alphabetic script (Latin with its accents: Siobhán), not a Han character."""
    return ch.isalpha() and ord(ch) < 0x2E80


def _setting(name: str, default):
    from django.conf import settings

    return getattr(settings, name, default) if settings.configured else default


def token_features(matrix: np.ndarray) -> np.ndarray:
    """A token's features: its own state and the next token's (the end of a name is often
    only clear one token later, "王芳" + "说"); the last token's "next" is zeros."""
    after = np.zeros_like(matrix)
    after[:-1] = matrix[1:]
    return np.hstack([matrix, after])


def runs_from_tokens(
    text: str, spans: list[tuple[int, int]], probs: np.ndarray, threshold: float
) -> list[tuple[int, int]]:
    """Character spans of runs of tokens scoring at or above ``threshold``, trimmed of the
    spaces, punctuation and possessive "'s" a token may carry."""
    runs: list[list[int]] = []
    for (start, end), p in zip(spans, probs, strict=True):
        if p < threshold:
            continue
        if runs and _JOIN.fullmatch(text[runs[-1][1] : start]):
            runs[-1][1] = max(runs[-1][1], end)
        else:
            runs.append([start, end])
    out = []
    for start, end in runs:
        # A name is a word, not a word piece: a run that stops inside a Latin word ("Adey|emi",
        # its last piece scoring lower) takes the whole word, as word-level NER aggregates
        # sub-word tags.
        while start > 0 and _latin(text[start - 1]) and _latin(text[start]):
            start -= 1
        while end < len(text) and _latin(text[end]) and _latin(text[end - 1]):
            end += 1
        piece = text[start:end]
        left = len(piece) - len(piece.lstrip(_EDGE))
        piece = _POSSESSIVE.sub("", piece.strip(_EDGE)).strip(_EDGE)
        if piece:
            out.append((start + left, start + left + len(piece)))
    return out


def words_consistent(text: str, runs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``runs`` less two kinds the tagger gets wrong (dev, docs/decisions.md): a Chinese run
    that starts or ends inside a word jieba reads as one and does not tag as a person's name
    (吴|江, 阿|勒泰, 马|应|龙: a surname-like character at the start of a place or a brand), and
    a run that is one Latin letter ("I")."""
    if not runs:
        return runs
    words: list[tuple[int, int]] = []
    if _HAN.search(text):
        from portal.safety.pii import _zh_words

        words = [
            (start, start + len(word))
            for start, (word, flag) in _zh_words(text).items()
            if not flag.startswith("nr") and _HAN.search(word)
        ]
    kept = []
    for start, end in runs:
        if _LATIN_LETTER.fullmatch(text[start:end]):
            continue
        if any(ws < start < we or ws < end < we for ws, we in words):
            continue
        kept.append((start, end))
    return kept


def name_runs(
    text: str, spans: list[tuple[int, int]], probs: np.ndarray, threshold: float
) -> list[tuple[int, int]]:
    """The tagger's names in ``text``: runs of flagged tokens, checked against word boundaries
    where SAFETY_PII_TAGGER_WORDS is on (the default)."""
    runs = runs_from_tokens(text, spans, probs, threshold)
    return words_consistent(text, runs) if _setting("SAFETY_PII_TAGGER_WORDS", True) else runs


@cache
def _warn_once(message: str) -> None:
    logger.warning("%s", message)


def tagger_head() -> HiddenHead | None:
    """The configured head, or None when the tagger is off, not fitted, or fitted on another
    model than the one configured (SAFETY_PII_TAGGER_MODEL)."""
    if not _setting("SAFETY_PII_TAGGER", True):
        return None
    from llm_backend.hidden import head_for_model

    model = _setting("SAFETY_PII_TAGGER_MODEL", None) or _setting("LLM_MODEL_PATH", "")
    head, why = head_for_model(_head_path(), Path(str(model)))
    if head is None:
        _warn_once(f"name tagger off: {why}")
    return head


@cache
def _head_file(path: str) -> dict:
    """The head file's contents, read once per process for the gate and the veto."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


@cache
def _gate_load(path: str) -> EmbeddingClassifier | None:
    gate = _head_file(path).get("gate")
    return EmbeddingClassifier.from_dict(gate) if gate else None


def _head_path() -> str:
    return str(_setting("SAFETY_PII_TAGGER_PATH", "") or NAME_TAGGER_FILE)


def gate_passes(text: str, language: str) -> bool:
    """Whether ``text`` may name someone, by the gate (True where the file has no gate)."""
    gate = _gate_load(_head_path())
    if gate is None:
        return True
    head = gate.heads["names"]
    return float(gate.scores([text], heads=("names",))["names"][0]) >= head.threshold(language)


def token_probabilities(text: str) -> tuple[list[tuple[int, int]], np.ndarray] | None:
    """(token spans, each token's name probability) for ``text``, or None when the tagger is
    off or its model cannot be loaded here."""
    head = tagger_head()
    if head is None or not text.strip():
        return None
    from llm_backend.hidden import token_encoder_for

    model = _setting("SAFETY_PII_TAGGER_MODEL", None) or _setting("LLM_MODEL_PATH", "")
    try:
        encoder = token_encoder_for(str(model), int(_setting("SAFETY_PII_TAGGER_THREADS", 2)))
    except (ImportError, ValueError, RuntimeError) as exc:
        # No llama.cpp here (a deployment that only talks to an inference server): rules only.
        _warn_once(f"name tagger off: cannot load {model}: {exc}")
        return None
    spans, matrix = encoder.encode(text)
    if not spans:
        return spans, np.zeros(0)
    return spans, head.probability(token_features(matrix.astype(np.float64)))


@dataclass(frozen=True)
class NameReading:
    """The tagger's reading of one question: each token's span and name probability, the
    language's threshold for a name and for the veto, and whether the gate let the question in
    (a question read only for the veto adds no names of its own, as measured by name_fit)."""

    spans: list[tuple[int, int]]
    probs: np.ndarray
    threshold: float
    veto: float
    gated: bool

    def runs(self, text: str) -> list[tuple[int, int]]:
        if not self.gated:
            return []
        return name_runs(text, self.spans, self.probs, self.threshold)

    def peak(self, start: int, end: int) -> float:
        """The highest name probability of a token overlapping ``text[start:end]``."""
        return span_peak(self.spans, self.probs, start, end)


def span_peak(spans: list[tuple[int, int]], probs: np.ndarray, start: int, end: int) -> float:
    inside = [float(p) for (s, e), p in zip(spans, probs, strict=True) if s < end and start < e]
    return max(inside, default=0.0)


def veto_sources() -> frozenset[str]:
    """The rule sources whose names the tagger may veto: the setting, else the head file's."""
    configured = _setting("SAFETY_PII_TAGGER_VETO_SOURCES", [])
    return frozenset(configured or _head_file(_head_path()).get("veto_sources", ()))


def veto_threshold(language: str) -> float:
    """The veto threshold for ``language``: SAFETY_PII_TAGGER_VETO, else the head file's."""
    configured = str(_setting("SAFETY_PII_TAGGER_VETO", "") or "").strip()
    if configured:
        return float(configured)
    vetoes = _head_file(_head_path()).get("veto", {})
    return float(vetoes.get(language, vetoes.get("*", 0.0)))


def reads_question(gated: bool, rule_names: bool, veto: float, reads: bool) -> bool:
    """Whether the tagger reads a question: the gate let it in, or (veto on, ``reads`` =
    SAFETY_PII_TAGGER_VETO_READS on) a vetoable rule found a name for the veto to judge.
    ``name_fit`` measures the redactor with this same test."""
    return gated or (reads and rule_names and veto > 0)


def name_reading(text: str, language: str, *, rule_names: bool = False) -> NameReading | None:
    """The tagger's reading of ``text``, or None when it is off, the gate says the question
    names no one (and no rule found a name for the veto to judge: ``rule_names`` with
    SAFETY_PII_TAGGER_VETO_READS), or the model cannot be loaded here."""
    head = tagger_head()
    if head is None:
        return None
    gated = gate_passes(text, language)
    veto = veto_threshold(language)
    if not reads_question(gated, rule_names, veto, _setting("SAFETY_PII_TAGGER_VETO_READS", True)):
        return None
    scored = token_probabilities(text)
    if scored is None:
        return None
    return NameReading(scored[0], scored[1], head.threshold(language), veto, gated)


def name_spans(text: str, language: str) -> list[tuple[int, int]]:
    """Character spans the tagger reads as people's names (empty when it is off or the gate
    says the question names no one)."""
    reading = name_reading(text, language)
    return reading.runs(text) if reading else []
