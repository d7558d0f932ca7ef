"""Which kind of agency a refusal sends the asker to: a table and a small chooser.

One fixed hotline helped nobody: Chinese refusals sent people asking about US Social Security
to the 12345 hotline. The table (``data/agencies.json``, or the file ``ANSWER_AGENCIES_PATH``
names) lists kinds of agency per jurisdiction, each with the sentence a refusal ends with and
the topics it handles, in English and Chinese. The chooser scores every agency with the
product's embedding model (``EMBEDDING_MODEL``; multilingual, so a Chinese question meets an
English topic too) and three signals:

- **the question** against the agency's topics (both languages; the best topic counts);
- **the best document retrieval found**: its title against the topics. A refusal still found
  the closest documents, and their subject is the question's subject more often than not;
- **the documents' jurisdiction** (``Collection.jurisdiction`` of the passages' collections,
  weighted by rank): a Chinese question whose closest documents are US pages is about a US
  programme, so US agencies are favoured over 12345. Agencies of no jurisdiction (a doctor)
  compete on the first two signals alone.

The best agency is named when its score reaches ``ANSWER_AGENCY_MIN_SCORE``; below it the
generic ``ANSWER_CONTACT_*`` text stays. No rule names an example question: the weights and the
floor were chosen on a labelled dev set (``data/agency_dev.jsonl``) with ``manage.py
agency_fit``, which prints its accuracy (docs/decisions.md has the figures).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.conf import settings

from ingestion.embedding import load_embedder
from portal.knowledge.retrieval import Passage
from portal.knowledge.selectors import document_jurisdictions

DEFAULT_TABLE = Path(__file__).resolve().parent / "data" / "agencies.json"
LANGUAGES = ("en", "zh")
# Dev-set choices (manage.py agency_fit; docs/decisions.md, "Refusal guidance").
TITLE_WEIGHT = 0.5  # the found documents' titles, beside the question
JURISDICTION_WEIGHT = 0.1  # the found documents' jurisdiction
DOCUMENT_PASSAGES = 8  # the top passages whose documents are read...
DOCUMENTS = 3  # ...and the first distinct documents among them


@dataclass(frozen=True)
class Agency:
    """One kind of agency: ``jurisdiction`` "" means any country (a doctor or pharmacist)."""

    kind: str
    jurisdiction: str
    advice: dict[str, str]  # language -> the sentence a refusal ends with
    topics: dict[str, tuple[str, ...]]  # language -> what it handles


@dataclass(frozen=True)
class AgencySignals:
    """Per agency, in table order: what the chooser weighs (kept apart so the fit command can
    try other weights without embedding again)."""

    agencies: tuple[Agency, ...]
    question: np.ndarray  # best cosine of the question with the agency's topics
    title: np.ndarray  # the same for the found documents' titles, weighted by their relevance
    jurisdiction: np.ndarray  # the found documents' (relevance-weighted) share of its country


@dataclass(frozen=True)
class AgencyChoice:
    agency: Agency | None  # None: nothing reached the floor, the generic text applies
    score: float
    runner_up: str = ""


def agencies_load(path: Path) -> tuple[Agency, ...]:
    """Read and check a table; a broken file fails loudly at first use, not as a blank refusal."""
    rows = json.loads(path.read_text(encoding="utf-8"))["agencies"]
    table = []
    for row in rows:
        for field in ("advice", "topics"):
            missing = [lang for lang in LANGUAGES if not row[field].get(lang)]
            if missing:
                raise ValueError(f"{path}: agency {row['kind']!r} has no {field} in {missing}")
        table.append(
            Agency(
                kind=row["kind"],
                jurisdiction=row.get("jurisdiction", "").lower(),
                advice=dict(row["advice"]),
                topics={lang: tuple(texts) for lang, texts in row["topics"].items()},
            )
        )
    if len({a.kind for a in table}) != len(table):
        raise ValueError(f"{path}: agency kinds repeat")
    return tuple(table)


class _Topics:
    """The table and its topic vectors, per (table file, embedding model); built once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str], tuple[tuple[Agency, ...], np.ndarray, np.ndarray]] = {}

    def get(self) -> tuple[tuple[Agency, ...], np.ndarray, np.ndarray]:
        key = (str(settings.ANSWER_AGENCIES_PATH or DEFAULT_TABLE), settings.EMBEDDING_MODEL)
        with self._lock:
            if key not in self._cache:
                table = agencies_load(Path(key[0]))
                texts, owner = [], []
                for index, agency in enumerate(table):
                    for lang in LANGUAGES:
                        texts += agency.topics[lang]
                        owner += [index] * len(agency.topics[lang])
                self._cache[key] = (table, _embed(texts), np.asarray(owner))
            return self._cache[key]


_topics = _Topics()


def _best_per_agency(sims: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    best = np.full(n, -1.0, dtype=np.float32)
    np.maximum.at(best, owner, sims)
    return best


def _documents(passages: Sequence[Passage]) -> list[tuple[str, str]]:
    """(title, jurisdiction) of the distinct documents among the top passages, best first."""
    top = list(passages[:DOCUMENT_PASSAGES])
    known = document_jurisdictions([p.document_id for p in top]) if top else {}
    seen: dict[str, str] = {}
    for passage in top:
        seen.setdefault(passage.document_title, (known.get(passage.document_id) or "").lower())
    return list(seen.items())[:DOCUMENTS]


def agency_signals(*, question: str, passages: Sequence[Passage] = ()) -> AgencySignals:
    table, topic_vectors, owner = _topics.get()
    n = len(table)
    documents = _documents(passages)
    vectors = _embed([question] + [title for title, _ in documents])
    by_question = _best_per_agency(topic_vectors @ vectors[0], owner, n)
    # Each document speaks in proportion to how close its title is to the question: a refusal's
    # closest documents are often off the question's subject (an SSA question that found DMV
    # pages), and then they should not pull the choice their way.
    relevance = np.clip(vectors[1:] @ vectors[0], 0.0, None)
    by_title = np.zeros(n, dtype=np.float32)
    shares: dict[str, float] = {}
    if documents and relevance.sum() > 0:
        weights = relevance / len(documents)
        for (_, code), weight, vector in zip(documents, weights, vectors[1:], strict=True):
            by_title += weight * _best_per_agency(topic_vectors @ vector, owner, n)
            if code:
                shares[code] = shares.get(code, 0.0) + float(weight)
    # An agency of no jurisdiction is as local as the documents are: it neither gains nor loses.
    anywhere = max(shares.values(), default=0.0)
    by_place = np.asarray(
        [shares.get(a.jurisdiction, 0.0) if a.jurisdiction else anywhere for a in table],
        dtype=np.float32,
    )
    return AgencySignals(table, by_question, by_title, by_place)


def agency_pick(
    signals: AgencySignals,
    *,
    min_score: float,
    title_weight: float = TITLE_WEIGHT,
    jurisdiction_weight: float = JURISDICTION_WEIGHT,
) -> AgencyChoice:
    """The best-scoring agency, or none below ``min_score``."""
    scores = (
        signals.question + title_weight * signals.title + jurisdiction_weight * signals.jurisdiction
    )
    order = np.argsort(-scores, kind="stable")
    best = int(order[0])
    runner_up = signals.agencies[int(order[1])].kind if len(order) > 1 else ""
    score = float(scores[best])
    agency = signals.agencies[best] if score >= min_score else None
    return AgencyChoice(agency, round(score, 4), runner_up)


def agency_choose(*, question: str, passages: Sequence[Passage] = ()) -> AgencyChoice:
    """The agency a refusal of ``question`` names, given what retrieval found (best first)."""
    if not question.strip():
        return AgencyChoice(None, 0.0)
    signals = agency_signals(question=question, passages=passages)
    return agency_pick(signals, min_score=settings.ANSWER_AGENCY_MIN_SCORE)


def agency_advice(*, question: str, language: str, passages: Sequence[Passage] = ()) -> str:
    """The sentence naming the chosen agency in ``language``; "" when none was chosen."""
    choice = agency_choose(question=question, passages=passages)
    if choice.agency is None:
        return ""
    return choice.agency.advice.get(language) or choice.agency.advice["en"]


def _embed(texts: list[str]) -> np.ndarray:
    return load_embedder(settings.EMBEDDING_MODEL).embed(texts)


def agencies_warm() -> None:
    """Embed the table's topics now (serving processes call it at start, portal/qa/warmup.py)."""
    _topics.get()
