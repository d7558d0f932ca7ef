"""The retrieval test ("hit test", as MaxKB and RAGFlow call it): what the answer engine would find
for a question asked by someone of a given role, and why its relevance gate would pass or refuse.

It runs the engine's own first steps, with the engine's own functions and settings: the input
guard (for the redacted question retrieval sees and its language), ``passages_search`` with the
answer's k and the configured retriever, and the relevance gate (``relevance_judge``, which
``passages_relevant`` itself calls). The ranking shown is therefore the ranking an answer would
get. Each passage also carries its rank and score under the dense and the keyword retriever
alone, searched over the same allowed passages, so an admin sees which retriever brought it.

No Answer row is written and no model is called, so the ask budget is not spent; the test has
its own rate-limit scope ("retrieval_test") because it still embeds and searches, and each run
is one audit event. Not run here: translation of the question for sources in another language
(ANSWER_CROSSLINGUAL needs the model) and the harm-in-context check.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth.models import Group

from portal.accounts.selectors import RoleViewer
from portal.audit.services import audit_record
from portal.core.ratelimit import rate_check_client
from portal.knowledge.conf import RetrievalConfig
from portal.knowledge.indexing import keyword_index_loaded
from portal.knowledge.retrieval import passages_search
from portal.knowledge.selectors import collections_visible_to, groups_mentioned
from portal.qa import answerability
from portal.qa.conf import AnswerConfig, RelevanceConfig
from portal.qa.engine.answer import RateLimited
from portal.qa.engine.relevance import PassageJudgement, relevance_judge
from portal.qa.redaction import known_terms, searchable
from portal.qa.verify import DOCUMENT_GROUP_TERMS
from portal.safety import services as safety

RATE_SCOPE = "retrieval_test"
# The single-retriever rankings are searched this deep, so a fused passage's own dense and
# keyword ranks are found even when one retriever placed it low.
SINGLE_DEPTH = 50


@dataclass(frozen=True)
class RetrieverRank:
    rank: int  # 1-based, under this retriever alone
    score: float  # its raw score: cosine similarity (dense) or BM25


@dataclass(frozen=True)
class HitRow:
    rank: int  # 1-based, in the ranking the answer engine would get
    score: float  # the fused (or single-retriever) score that ranking is ordered by
    judgement: PassageJudgement
    dense: RetrieverRank | None
    keyword: RetrieverRank | None

    @property
    def passage(self):
        return self.judgement.passage


@dataclass(frozen=True)
class HitTest:
    question: str  # as retrieval saw it: personal data redacted by the input guard
    language: str
    role: str
    group: str
    collections: list[str]
    retriever: str
    k: int
    guard_action: str  # the input guard's decision: an answer stops at "refuse"
    guard_reason: str
    rows: list[HitRow]
    config: RelevanceConfig
    visible_collections: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """The gate would let the question through to the prompt (and the guard would not
        refuse it first)."""
        return self.guard_action != "refuse" and any(r.judgement.kept for r in self.rows)

    @property
    def kept(self) -> int:
        return sum(r.judgement.kept for r in self.rows)

    @property
    def outcome(self) -> str:
        """One code for the decision: ``guard_refused``, ``no_passages``, ``no_relevant`` or
        ``passed``."""
        if self.guard_action == "refuse":
            return "guard_refused"
        if not self.rows:
            return "no_passages"
        return "passed" if self.passed else "no_relevant"

    def as_dict(self) -> dict:
        return {
            "question": self.question,
            "language": self.language,
            "role": self.role,
            "group": self.group or None,
            "collections": self.collections,
            "visible_collections": self.visible_collections,
            "retriever": self.retriever,
            "k": self.k,
            "guard": {"action": self.guard_action, "refusal_reason": self.guard_reason or None},
            "outcome": self.outcome,
            "passed": self.passed,
            "thresholds": {
                "min_lexical": self.config.min_lexical,
                "min_dense": self.config.min_dense,
                "min_question_coverage": self.config.question_coverage_floor(self.language),
                "sole_question_coverage": self.config.sole_question_coverage,
                "keep_lexical": self.config.keep_lexical,
                "keep_dense": self.config.keep_dense,
                "prompt_passages": self.config.prompt_passages,
            },
            "passages": [_row_dict(row) for row in self.rows],
        }


def _row_dict(row: HitRow) -> dict:
    j, p = row.judgement, row.passage
    return {
        "rank": row.rank,
        "chunk_id": p.chunk_id,
        "score": round(row.score, 6),
        "dense": {"rank": row.dense.rank, "score": round(row.dense.score, 6)}
        if row.dense
        else None,
        "keyword": {"rank": row.keyword.rank, "score": round(row.keyword.score, 6)}
        if row.keyword
        else None,
        "document_id": p.document_id,
        "document": p.document_title,
        "collection": p.collection,
        "version": p.version,
        "section": list(p.heading_path),
        "page_start": p.page_start,
        "page_end": p.page_end,
        "language": p.language,
        "text": p.text,
        "gate": {
            "lexical": round(j.lexical, 4),
            "dense": round(j.dense, 4),
            "coverage": round(j.coverage, 4),
            "crosslingual": j.crosslingual,
            "reason": j.reason,
            "document_passes": j.document_passes,
            "above_keep_floor": j.above_keep_floor,
            "kept": j.kept,
        },
    }


def _ranks(*, question: str, user, collections, retriever: str) -> dict[int, RetrieverRank]:
    found = passages_search(
        question=question,
        user=user,
        k=SINGLE_DEPTH,
        retriever=retriever,
        collections=collections,
    )
    return {p.chunk_id: RetrieverRank(rank, p.score) for rank, p in enumerate(found, start=1)}


def hit_test_run(
    *,
    question: str,
    role: str,
    group: Group | None = None,
    collections: list[str] | None = None,
    tester,
    address: str = "",
) -> HitTest:
    """Retrieval and the relevance gate for ``question`` as a reader of ``role`` (and of
    ``group``) would get them. ``tester``: the admin running the test, whose budget is spent
    and who is the audit event's actor. Raises RateLimited over budget, ValueError for an
    unknown role."""
    viewer = RoleViewer(role, group_ids=(group.pk,) if group is not None else ())
    decision = rate_check_client(user=tester, address=address, scope=RATE_SCOPE)
    if not decision.allowed:
        raise RateLimited(decision)
    config = AnswerConfig.from_settings()
    retrieval = RetrievalConfig.from_settings()
    checked = safety.input_check(question, known_terms=known_terms())
    searched, language = checked.redacted_text, checked.language
    collections = collections or None
    # Exactly the engine's call (portal/qa/engine/answer.py, _guard and _search).
    found = passages_search(
        question=searchable(searched), user=viewer, k=config.passages, collections=collections
    )
    implied = groups_mentioned(
        versions={(p.document_id, p.version) for p in found}, terms=DOCUMENT_GROUP_TERMS
    )
    weights = answerability.term_weights(searched, keyword_index_loaded())
    judgement = relevance_judge(
        searched, found, implied, language=language, config=config.relevance, weights=weights
    )
    dense = keyword = {}
    if found:
        dense = _ranks(question=searched, user=viewer, collections=collections, retriever="dense")
        keyword = _ranks(question=searched, user=viewer, collections=collections, retriever="bm25")
    rows = [
        HitRow(
            rank=rank,
            score=j.passage.score,
            judgement=j,
            dense=dense.get(j.passage.chunk_id),
            keyword=keyword.get(j.passage.chunk_id),
        )
        for rank, j in enumerate(judgement.passages, start=1)
    ]
    result = HitTest(
        question=searched,
        language=language,
        role=role,
        group=group.name if group is not None else "",
        collections=list(collections or []),
        retriever=retrieval.retriever,
        k=config.passages,
        guard_action=checked.action,
        guard_reason=checked.refusal_reason or "",
        rows=rows,
        config=config.relevance,
        visible_collections=sorted(collections_visible_to(viewer).values_list("slug", flat=True)),
    )
    # Who tested as which role and what came of it; the question itself is left out (it may
    # quote a citizen's words) and the trail redacts strings anyway.
    audit_record(
        action="knowledge.retrieval_test",
        user=tester,
        object_type="role",
        object_id=role,
        detail={
            "group": result.group,
            "collections": result.collections,
            "passages": len(rows),
            "kept": result.kept,
            "outcome": result.outcome,
        },
    )
    return result
