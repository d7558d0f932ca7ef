"""The relevance step: which retrieved passages bear on the question, or none.

Retrieval always returns its top k, related or not. A document clears the gate when one of its
passages is close to the question (enough of its content, or a close embedding) and its retrieved
passages together, with its title and headings, cover enough of the question's rare terms
(``portal.qa.answerability``); across languages, where words cannot overlap, the embedding alone
decides. Other passages of the documents that clear the gate join above a lower floor, because an
answer often spans two passages. Only documents that themselves bear on the question join the
prompt: a near-topic document would be cited for what it says about its own subject (on PubMedQA
dev this raised the gold share of prompted passages from 0.74 to 0.95).

The values are ``RelevanceConfig`` (settings ANSWER_*_RELEVANCE / _COVERAGE); the dev figures that
chose them are in docs/decisions.md. A learned decision is planned to replace this gate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from django.conf import settings

from ingestion.embedding import load_embedder
from portal.knowledge.indexing import keyword_index_loaded
from portal.knowledge.models import KeywordIndex, VectorIndex
from portal.knowledge.retrieval import Passage
from portal.qa import answerability
from portal.qa.conf import RelevanceConfig
from portal.qa.verify import DOCUMENT_GROUP_TERMS, PassageEvidence, relevance


def embed_texts(texts: list[str]) -> np.ndarray:
    """The product's embedder (L2-normalised rows): verification and relevance use it."""
    return load_embedder(settings.EMBEDDING_MODEL).embed(texts)


def index_version() -> str:
    dense = VectorIndex.objects.filter(model=settings.EMBEDDING_MODEL).values_list(
        "version", flat=True
    )
    keyword = KeywordIndex.objects.values_list("version", flat=True)
    return f"{settings.EMBEDDING_MODEL}@v{next(iter(dense), 0)};bm25@v{next(iter(keyword), 0)}"


def relevance_signals(
    question: str,
    found: list[Passage],
    implied: dict[tuple[int, int], frozenset[str]],
    *,
    weights: answerability.TermWeights | None = None,
) -> tuple[list[tuple[Passage, float, float]], dict[int, float]]:
    """What the gate reads: per passage (passage, lexical closeness, dense similarity) in
    retrieval order, and per document the share of the question's IDF weight it covers.
    ``weights``: the question's term weights when the caller already has them."""
    vectors = embed_texts([question] + [p.text for p in found])
    if weights is None:
        weights = answerability.term_weights(question, keyword_index_loaded())
    scored = [
        (passage, relevance(question, PassageEvidence.of("", passage.text)), float(vectors[0] @ v))
        for passage, v in zip(found, vectors[1:], strict=True)
    ]
    # What a document's retrieved passages say together, under its title and headings; the
    # groups a document is about count as named (a record that calls its subject 病人 answers a
    # question about 患者).
    context: dict[int, list[str]] = {}
    for passage in found:
        parts = context.setdefault(passage.document_id, [passage.document_title])
        parts.extend((*passage.heading_path, passage.text))
        for group in implied.get((passage.document_id, passage.version), ()):
            parts.extend(DOCUMENT_GROUP_TERMS[group])
    return scored, {doc: weights.coverage(" ".join(parts)) for doc, parts in context.items()}


@dataclass(frozen=True)
class PassageJudgement:
    """The gate's reading of one retrieved passage (the retrieval test page shows it)."""

    passage: Passage
    lexical: float  # share of the question's content units the passage holds
    dense: float  # embedding similarity of passage and question
    coverage: float  # share of the question's IDF weight its document's passages cover
    crosslingual: bool  # in another language than the question: the embedding alone decides
    document_passes: bool  # its document clears the gate (through this or another passage)
    above_keep_floor: bool  # close enough to join the prompt if its document passes
    kept: bool  # one of the passages the prompt would show (at most ``prompt_passages``)
    reason: str  # why its own signals pass or fail (codes in ``document_reason``)


@dataclass(frozen=True)
class RelevanceJudgement:
    """The whole decision: every passage's signals, and the ones the prompt would show."""

    passages: list[PassageJudgement]
    kept: list[Passage]

    @property
    def passed(self) -> bool:
        return bool(self.kept)


def document_reason(
    *,
    crosslingual: bool,
    lexical: float,
    dense: float,
    coverage: float,
    config: RelevanceConfig,
    language: str = "",
) -> str:
    """Why one passage's signals make its document pass (``close_and_covered``,
    ``covered_alone``, ``crosslingual_close``) or not (``not_close``, ``not_covered``,
    ``crosslingual_far``). The gate reads only this, so the explanation cannot drift from it."""
    if crosslingual:
        return "crosslingual_close" if dense >= config.min_dense else "crosslingual_far"
    close = lexical >= config.min_lexical or dense >= config.min_dense
    # A question in two parts is close to no single passage; a document that covers most
    # of its rare terms answers it anyway.
    if close and coverage >= config.question_coverage_floor(language):
        return "close_and_covered"
    if coverage >= config.sole_question_coverage:
        return "covered_alone"
    return "not_covered" if close else "not_close"


PASSING_REASONS = frozenset({"close_and_covered", "covered_alone", "crosslingual_close"})


def relevance_judge(
    question: str,
    found: list[Passage],
    implied: dict[tuple[int, int], frozenset[str]],
    *,
    language: str,
    config: RelevanceConfig,
    weights: answerability.TermWeights | None = None,
) -> RelevanceJudgement:
    """The gate (see the module docstring) with its reasons, passage by passage."""
    if not found:
        return RelevanceJudgement([], [])
    scored, covered = relevance_signals(question, found, implied, weights=weights)
    rows = []
    for passage, lexical, dense in scored:
        crosslingual = bool(passage.language) and passage.language != language
        coverage = covered[passage.document_id]
        reason = document_reason(
            crosslingual=crosslingual,
            lexical=lexical,
            dense=dense,
            coverage=coverage,
            config=config,
            language=language,
        )
        rows.append((passage, lexical, dense, coverage, crosslingual, reason))
    documents = {p.document_id for p, *_, reason in rows if reason in PASSING_REASONS}
    # Other passages of a passing document join above a lower floor (an answer often spans two).
    floor = {
        p.chunk_id
        for p, lexical, dense, *_ in rows
        if lexical >= config.keep_lexical or dense >= config.keep_dense
    }
    keep = [p for p, *_ in rows if p.document_id in documents and p.chunk_id in floor]
    keep = keep[: config.prompt_passages]
    kept_ids = {p.chunk_id for p in keep}
    judged = [
        PassageJudgement(
            passage=passage,
            lexical=lexical,
            dense=dense,
            coverage=coverage,
            crosslingual=crosslingual,
            document_passes=passage.document_id in documents,
            above_keep_floor=passage.chunk_id in floor,
            kept=passage.chunk_id in kept_ids,
            reason=reason,
        )
        for passage, lexical, dense, coverage, crosslingual, reason in rows
    ]
    return RelevanceJudgement(judged, keep)


def passages_relevant(
    question: str,
    found: list[Passage],
    implied: dict[tuple[int, int], frozenset[str]],
    *,
    language: str,
    config: RelevanceConfig,
    weights: answerability.TermWeights | None = None,
) -> list[Passage]:
    """The passages worth prompting with (see the module docstring), best first."""
    return relevance_judge(
        question, found, implied, language=language, config=config, weights=weights
    ).kept
