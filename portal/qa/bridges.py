"""Term bridges: the words official texts use for the words people ask with.

A citizen asks "在派出所办身份证要多少天" and the statute says "公安机关 ... 六十日内"; 主动辞职 /
非因本人意愿, 自由职业者 / 灵活就业人员. The relevance gate counts a question term as covered only
where the passage has the same word (``answerability.TermWeights.coverage``), so a lay question
over the right article looked barely covered and was refused.

The bridges are learned, not listed. From pairs of a dev question and the passages that answer it
(STARD: lay legal questions and the statute articles a legal team marked as answering them), a
question word ``q`` bridges to a passage word ``w`` when ``w`` turns up in the answering passages
of questions that use ``q`` far more often than in passages at large:

- support: the questions with ``q`` whose answering passages hold ``w`` (>= ``min_support``);
- confidence: support over the questions with ``q`` (>= ``min_confidence``);
- lift: confidence over the share of all corpus passages that hold ``w`` (>= ``min_lift``).

Each question word keeps its ``per_term`` bridges of highest lift. A bridge is evidence of topic,
not a synonym, so the gate credits a bridged term with part of its weight only
(``ANSWER_BRIDGE_CREDIT``). The file records the fitting parameters, the hash of the training
pairs and a version, like the safety classifier's; ``manage.py bridges_fit`` writes it.

Off by default (``ANSWER_TERM_BRIDGES``): on the cn_law and STARD dev halves bridges moved the gate
along the same answered / refused trade-off as a lower coverage floor, not past it (more gold
articles passed, fewer withheld-source questions refused; docs/decisions.md). Learned from STARD's
statute articles they are topical rather than synonymous (我们 -> 采光, 答复 -> 山岭), and the lay
words that matter most (派出所, 社保, 工资) are too rare in STARD's questions to get any.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from textkit import words as tokenize

BRIDGES_FILE = Path(__file__).resolve().parent / "data" / "term_bridges.json"


_NUMERAL_CHARS = frozenset("0123456789.零〇一二两三四五六七八九十百千万亿第条款项")


def content_word(token: str) -> bool:
    """A keyword-tokenizer word of two or more characters that is neither one of its "_"
    character pairs nor a number or article number ("3", "一千二百", "第二十六条": a number is
    checked as a number elsewhere, and an article's number says nothing about its subject)."""
    return not token.startswith("_") and len(token) >= 2 and not set(token) <= _NUMERAL_CHARS


def bridge_words(text: str) -> set[str]:
    """The words a bridge can start or end on."""
    return {t for t in tokenize(text) if content_word(t)}


@dataclass(frozen=True)
class FitParams:
    min_questions: int = 3  # a question word seen in fewer questions gets no bridges
    min_support: int = 2
    min_confidence: float = 0.25
    min_lift: float = 8.0
    per_term: int = 8


@dataclass(frozen=True)
class TermBridges:
    bridges: dict[str, tuple[str, ...]]  # question word -> passage words, highest lift first
    version: str = ""
    meta: dict = field(default_factory=dict)

    def targets(self, word: str) -> tuple[str, ...]:
        return self.bridges.get(word, ())

    def to_json(self) -> dict:
        return {"version": self.version, **self.meta, "bridges": self.bridges}

    @classmethod
    def from_json(cls, data: dict) -> TermBridges:
        meta = {k: v for k, v in data.items() if k not in ("version", "bridges")}
        bridges = {q: tuple(ws) for q, ws in data["bridges"].items()}
        return cls(bridges, data.get("version", ""), meta)


def bridges_fit(
    pairs: Iterable[tuple[str, list[str]]],
    corpus: Iterable[str],
    *,
    exclude: frozenset[str] = frozenset(),
    params: FitParams = FitParams(),
) -> TermBridges:
    """Learn bridges from (question, [answering passage, ...]) pairs; ``corpus``: passages at
    large (each passage's words count once), for each word's base rate. ``exclude``: words that
    frame a question rather than name its subject (``answerability.QUESTION_FRAME``)."""
    pairs = list(pairs)
    digest = hashlib.sha256()
    question_count: Counter[str] = Counter()
    joint: dict[str, Counter[str]] = {}
    for question, passages in pairs:
        digest.update(json.dumps([question, passages], ensure_ascii=False).encode())
        asked = bridge_words(question) - exclude
        answered: set[str] = set()
        for passage in passages:
            answered |= bridge_words(passage)
        for q in asked:
            question_count[q] += 1
            joint.setdefault(q, Counter()).update(answered - asked)
    base: Counter[str] = Counter()
    n_passages = 0
    for passage in corpus:
        n_passages += 1
        base.update(bridge_words(passage))
    bridges: dict[str, tuple[str, ...]] = {}
    for q, n_q in question_count.items():
        if n_q < params.min_questions:
            continue
        scored = []
        for w, support in joint[q].items():
            confidence = support / n_q
            rate = (base[w] + 1) / (n_passages + 1)
            lift = confidence / rate
            if (
                support >= params.min_support
                and confidence >= params.min_confidence
                and lift >= params.min_lift
            ):
                scored.append((lift, support, w))
        if scored:
            scored.sort(key=lambda item: (-item[0], -item[1], item[2]))
            bridges[q] = tuple(w for *_, w in scored[: params.per_term])
    data_hash = digest.hexdigest()[:16]
    meta = {
        "data_hash": data_hash,
        "pairs": len(pairs),
        "corpus_passages": n_passages,
        "params": params.__dict__,
    }
    return TermBridges(dict(sorted(bridges.items())), f"bridges-{data_hash[:10]}", meta)


_lock = threading.Lock()
_loaded: dict[str, TermBridges] = {}


def bridges_load(path: Path | str) -> TermBridges:
    """The bridges in ``path``, read once per process."""
    key = str(path)
    with _lock:
        if key not in _loaded:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            _loaded[key] = TermBridges.from_json(data)
        return _loaded[key]


def bridges_current() -> TermBridges | None:
    """The configured bridges, or None when ANSWER_TERM_BRIDGES is off."""
    if not settings.ANSWER_TERM_BRIDGES:
        return None
    if not 0.0 <= settings.ANSWER_BRIDGE_CREDIT <= 1.0:
        raise ImproperlyConfigured(
            f"ANSWER_BRIDGE_CREDIT must be between 0 and 1, got {settings.ANSWER_BRIDGE_CREDIT}."
        )
    path = Path(settings.ANSWER_TERM_BRIDGES_PATH or BRIDGES_FILE)
    if not path.exists():
        raise ImproperlyConfigured(
            f"ANSWER_TERM_BRIDGES is on but {path} does not exist: run `manage.py bridges_fit` "
            "or set ANSWER_TERM_BRIDGES_PATH to a fitted file."
        )
    return bridges_load(path)
