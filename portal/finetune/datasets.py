"""Training examples for the fine-tuning loop: the parts every source of examples shares.

Every example is stored as the prompt's inputs (question, labelled passages, language) and the
target text, not as the rendered prompt: ``portal.qa.prompts.build_prompt`` renders it at training
time, exactly as the answer pipeline does, and the dataset's hash does not depend on the
per-process canary inside the system prompt.

Targets are written in the format the prompt teaches (``sentence [1].`` / ``句子[1]。``), and
seed targets are sentences copied verbatim from the passage they cite: the model should learn to
cite and to stay inside its sources, which is what the verifier and the promotion gate measure.

Where seeds come from and which questions are held out: ``portal/finetune/seeds.py``. Near-topic
passages (distractors beside the gold passage, and the passages of refusal examples) are the
same dataset's passages closest to the question by the relevance gate's own lexical measure
(``portal.qa.verify.relevance``: the share of the question's content units a passage holds),
never the gold document: a refusal must be learned where the passages look like they answer.
DPO rejections: ``portal/finetune/preferences.py``.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from portal.qa.prompts import REFUSAL_TOKEN, trim_passage
from portal.qa.sentences import split_sentences
from portal.qa.verify import PassageEvidence, coverage
from portal.qa.verify.evidence import word_units
from textkit import content_units as lexical_units
from textkit import language_of

PASSAGE_MAX_CHARS = 400  # as ANSWER_PASSAGE_MAX_CHARS: the pipeline prompts passages this long
PASSAGES_PER_PROMPT = 3  # as ANSWER_PROMPT_PASSAGES
MAX_QUOTES = 3  # as ANSWER_MAX_SENTENCES: a gold span needing more sentences is no seed
_END_PUNCT = re.compile(r"[.。!！?？;；]+$")


class TestSplitError(ValueError):
    """A seed example came from a test split: refusing to build (the numbers would be void)."""


def _assert_not_test(dataset: str, ids: set[str], test_ids: set[str]) -> None:
    leaked = ids & test_ids
    if leaked:
        raise TestSplitError(
            f"{dataset}: {len(leaked)} seed examples are from the test split "
            f"(e.g. {sorted(leaked)[:3]}); seed data must come from dev/train splits only"
        )


@dataclass(frozen=True)
class Example:
    id: str
    source: str  # "review:<decision>" or "seed:<dataset>"
    language: str  # the prompt's (the passages'): build_prompt's language
    question: str
    passages: list[tuple[str, str, str]]  # (label, title, text), as build_prompt takes them
    chosen: str  # the target answer (SFT completion, DPO chosen)
    rejected: str = ""  # the DPO rejected answer; empty = SFT only
    meta: dict = field(default_factory=dict)

    def row(self) -> dict:
        data = asdict(self)
        data["passages"] = [list(p) for p in self.passages]
        return data


def language_key(language: str, question: str) -> str:
    """``en`` / ``zh``, or ``zh->en`` for a question asked in another language than its passages
    (the counts tell the cross-lingual examples apart)."""
    asked = language_of(question)
    return language if asked == language else f"{asked}->{language}"


def render_answer(sentences: Iterable[tuple[str, Iterable[str]]], *, language: str) -> str:
    """Sentences with their labels in the one-shot format: ``text [1].`` / ``文本[1]。``."""
    parts = []
    for text, labels in sentences:
        text = text.strip()
        punct = _END_PUNCT.search(text)
        end = punct.group() if punct else ("。" if language == "zh" else ".")
        body = text[: punct.start()] if punct else text
        markers = "".join(f"[{label}]" for label in labels)
        parts.append(f"{body}{markers}{end}" if language == "zh" else f"{body} {markers}{end}")
    return ("" if language == "zh" else " ").join(parts)


def normalize_answer(text: str, *, language: str) -> str:
    """Any cited text (the pipeline puts markers after the full stop) in the one-shot format."""
    if text.strip() == REFUSAL_TOKEN:
        return REFUSAL_TOKEN
    return render_answer(((s.text, s.labels) for s in split_sentences(text)), language=language)


def _sentences(text: str) -> list[str]:
    return [s.text for s in split_sentences(text) if s.text]


def trim_around(text: str, keep: list[str], *, max_chars: int = PASSAGE_MAX_CHARS) -> str:
    """The passage cut to ``max_chars`` around the sentences in ``keep`` (which always stay)."""
    sentences = _sentences(text)
    if len(text) <= max_chars or not sentences:
        return text
    chosen = {i for i, s in enumerate(sentences) if s in keep}
    if keep and not chosen:
        return text  # a quote that is not a whole sentence of it: cutting could lose it
    chosen = chosen or {0}
    used = sum(len(sentences[i]) + 1 for i in chosen)
    lo, hi = min(chosen), max(chosen)
    while True:
        grew = False
        for i in (hi + 1, lo - 1):
            if 0 <= i < len(sentences) and used + len(sentences[i]) + 1 <= max_chars:
                chosen.add(i)
                used += len(sentences[i]) + 1
                lo, hi = min(chosen), max(chosen)
                grew = True
        if not grew:
            break
    return " ".join(sentences[i] for i in sorted(chosen))


def best_sentences(target: str, text: str, *, n: int = 1) -> list[str]:
    """The passage sentences that best cover ``target`` (most-covering first), at most ``n``."""
    units = lexical_units(target)
    scored = [(coverage(lexical_units(s), units), s) for s in _sentences(text) if len(s) > 15]
    scored.sort(key=lambda pair: pair[0], reverse=True)
    return [s for score, s in scored[:n] if score > 0]


def span_sentences(text: str, spans: Iterable[str]) -> list[str]:
    """The sentences of ``text`` that hold part of any gold span, in order: the sentences that
    state the labelled answer (a span may be a clause of a sentence, or run over two)."""
    spans = [s.strip() for s in spans if s and s.strip()]
    if not spans:
        return []
    placed: list[tuple[int, int, str]] = []
    at = 0
    for sentence in _sentences(text):
        found = text.find(sentence, at)
        if found < 0:
            continue
        placed.append((found, found + len(sentence), sentence))
        at = found + len(sentence)
    hits: list[tuple[int, int]] = []
    for span in spans:
        start = text.find(span)
        if start >= 0:
            hits.append((start, start + len(span)))
    return [s for a, b, s in placed if any(a < hi and lo < b for lo, hi in hits)]


def _stable_key(key: str) -> int:
    return int(hashlib.sha256(key.encode()).hexdigest()[:16], 16)


def _stable_rng(key: str) -> random.Random:
    seed = _stable_key(key)
    return random.Random(seed)  # noqa: S311 - a reproducible shuffle, not a secret


def assemble(
    *,
    id: str,
    source: str,
    language: str,
    question: str,
    gold: list[tuple[str, str, list[str]]],  # (title, text, sentences to quote)
    distractors: list[tuple[str, str]],  # (title, text) near-topic passages, already trimmed
    meta: dict,
) -> Example:
    """Gold passages and distractors shuffled into labels 1..k (the model must find the right one);
    the target quotes the gold sentences, each cited to its passage."""
    rng = _stable_rng(id)
    items = [("gold", title, text, quotes) for title, text, quotes in gold]
    items += [("other", title, text, []) for title, text in distractors]
    items = items[:PASSAGES_PER_PROMPT]
    rng.shuffle(items)
    passages, answer = [], []
    for n, (kind, title, text, quotes) in enumerate(items, start=1):
        trimmed = trim_around(text, quotes) if kind == "gold" else text
        passages.append((str(n), title, trimmed))
        # Only quotes that stand verbatim in the passage (a source's own "[8]" is read as a marker
        # by the sentence splitter, and the target would then differ from its passage).
        answer += [(q, [str(n)]) for q in quotes if _END_PUNCT.sub("", q) in trimmed]
    chosen = render_answer(answer, language=language) if answer else ""
    return Example(id, source, language, question, passages, chosen, "", meta)


def refusal(
    *,
    id: str,
    source: str,
    language: str,
    question: str,
    passages: list[tuple[str, str]],  # (title, text): near-topic passages that do not answer
    meta: dict,
) -> Example:
    """The question over passages that look related but do not answer: the target is the
    refusal (what answering anyway would look like is ``preferences.answered_anyway``)."""
    labelled = [(str(n), title, text) for n, (title, text) in enumerate(passages, start=1)]
    return Example(
        id, source, language, question, labelled, REFUSAL_TOKEN, "", {**meta, "refusal": True}
    )


@dataclass(frozen=True)
class _Passage:
    doc_id: str
    title: str
    text: str
    units: frozenset[str]
    tie: int  # a stable tie-break, so equal scores do not fall back to input order


class NearTopic:
    """Passages of one dataset, ranked by the relevance gate's lexical measure for a question.

    ``nearest`` skips the gold documents and any passage that restates a gold text (``avoid``:
    holds it, or most of its content units, as another page of the same site often does), keeps
    one passage per document and no two alike, and trims each as the pipeline trims a prompted
    passage (``portal.qa.prompts.trim_passage``: the sentences most likely to answer first)."""

    def __init__(self, passages: Iterable[tuple[str, str, str]]):  # (doc id, title, text)
        self.passages = [
            _Passage(doc_id, title, text, word_units(text), _stable_key(f"{doc_id}\0{text}"))
            for doc_id, title, text in passages
            if text.strip()
        ]

    def __len__(self) -> int:
        return len(self.passages)

    def nearest(
        self, probe: str, *, k: int, exclude: Iterable[str] = (), avoid: Iterable[str] = ()
    ) -> list[tuple[str, str]]:
        """(title, trimmed text) of the ``k`` closest passages to ``probe`` (the question, in the
        passages' language)."""
        asked = set(word_units(probe))
        excluded = set(exclude)
        avoided = [(a.strip(), set(word_units(a))) for a in avoid if a and a.strip()]
        scored = sorted(
            (-coverage(asked, p.units), p.tie, i)
            for i, p in enumerate(self.passages)
            if p.doc_id not in excluded
        )
        out: list[tuple[str, str]] = []
        seen: set[str] = set()
        for _score, _tie, i in scored:
            p = self.passages[i]
            if p.doc_id in seen or any(_restates(p, text, units) for text, units in avoided):
                continue
            evidence = PassageEvidence.of("", p.text)
            trimmed = trim_passage(probe, evidence, max_chars=PASSAGE_MAX_CHARS)
            if any(trimmed == text for _title, text in out):
                continue
            seen.add(p.doc_id)
            out.append((p.title, trimmed))
            if len(out) >= k:
                break
        return out


RESTATES = 0.6  # a passage holding this share of a gold text's content units says it again


def _restates(passage: _Passage, text: str, units: set[str]) -> bool:
    if text in passage.text:
        return True
    return len(units) >= 4 and coverage(units, passage.units) >= RESTATES


# --- Files and hash ---------------------------------------------------------------------------


def content_hash(sft: list[dict], dpo: list[dict], *, prompt_version: str) -> str:
    digest = hashlib.sha256(prompt_version.encode())
    for name, rows in (("sft", sft), ("dpo", dpo)):
        digest.update(name.encode())
        for row in rows:
            digest.update(json.dumps(row, sort_keys=True, ensure_ascii=False).encode())
    return digest.hexdigest()


def write_jsonl(path: Path, rows: list[dict]) -> None:
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, sort_keys=True, ensure_ascii=False) + "\n")
    tmp.replace(path)


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]
