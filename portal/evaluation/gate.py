"""A learned relevance gate, fitted and compared with the product's hand gate on dev questions.

The product decides relevance with the hand gate in portal/qa/engine/relevance.py (four floors
chosen on dev). This module asks whether a logistic model over the same signals does better:
per retrieved document, ``DocumentFeatures`` (its best passage's word and embedding closeness to
the question, the share of the question's IDF weight the document covers, its fused retrieval
score, rank, margin over the next document, how many retrieved passages are its own, another
language or not) and whether it is a gold document.

For each dev question of each set, the corpus is ingested as evaluation does it (every fifth
gold document withheld, written folder sets too, so some questions have no answer in the
corpus), the question goes through the input guard's redaction and the real retrieval as the
evaluation user, and every retrieved document becomes a row: its ``DocumentFeatures`` and
whether it is a gold document.

The learned gate is a logistic regression (``logistic_fit``, as the verifier's score), judged on
out-of-fold predictions at the question level, where the product decides: a question is answered
when one of its documents passes. ``gates_compare`` reports the hand gate and the learned gate on
the same rows. Neither replaces the other here: the product switches only when the learned gate
is better on dev (docs/decisions.md has the figures).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date

import numpy as np
from django.conf import settings

from portal.evaluation.answers import answer_set
from portal.evaluation.datasets import EvalSet
from portal.evaluation.services import corpus_ingest, evaluation_user
from portal.knowledge.retrieval import Passage, passages_search
from portal.knowledge.selectors import groups_mentioned
from portal.qa.engine.relevance import PASSING_REASONS, document_reason, relevance_signals
from portal.qa.verify import DOCUMENT_GROUP_TERMS
from portal.qa.verify.scorer import logistic_fit, oof_probabilities
from portal.safety import services as safety

REFUSAL_TARGET = 0.95
PASSAGE_CHARS = 1200  # of a document's best passage kept on its row
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class DocumentFeatures:
    lexical: float  # best passage: share of the question's content units it holds
    dense: float  # best passage: embedding similarity with the question
    coverage: float  # the document's retrieved text covers this share of the question's IDF
    score: float  # best fused retrieval score of its passages
    rank: float  # 1 / (1 + rank of its best passage)
    margin: float  # its best score minus the best score of the next document (0 if last)
    passages: float  # how many of the retrieved passages are its own, over k
    crosslingual: float  # 1 when the document is in another language than the question

    NAMES = ("lexical", "dense", "coverage", "score", "rank", "margin", "passages", "crosslingual")

    def vector(self) -> np.ndarray:
        values = asdict(self)
        return np.array([float(values[n]) for n in self.NAMES], dtype=np.float64)


@dataclass(frozen=True)
class ScoredDocument:
    document_id: int
    features: DocumentFeatures
    passages: tuple[tuple[Passage, float, float], ...]  # (passage, lexical, dense), best first


def documents_scored(
    scored: list[tuple[Passage, float, float]],
    coverage: dict[int, float],
    *,
    language: str,
    k: int,
) -> list[ScoredDocument]:
    """Per document among ``scored`` ((passage, lexical, dense) in retrieval order), its
    features. Pure: retrieval, embedding and IDF weights are computed by the caller."""
    by_document: dict[int, list[tuple[int, Passage, float, float]]] = {}
    for rank, (passage, lexical, dense) in enumerate(scored):
        by_document.setdefault(passage.document_id, []).append((rank, passage, lexical, dense))
    best_scores = sorted(
        (max(p.score for _, p, _, _ in items), doc) for doc, items in by_document.items()
    )[::-1]
    margins = {}
    for i, (score, doc) in enumerate(best_scores):
        following = best_scores[i + 1][0] if i + 1 < len(best_scores) else score
        margins[doc] = score - following
    out = []
    for doc, items in by_document.items():
        first = items[0]
        language_of_doc = first[1].language
        out.append(
            ScoredDocument(
                doc,
                DocumentFeatures(
                    lexical=max(lex for _, _, lex, _ in items),
                    dense=max(dense for _, _, _, dense in items),
                    coverage=coverage.get(doc, 0.0),
                    score=max(p.score for _, p, _, _ in items),
                    rank=1.0 / (1.0 + first[0]),
                    margin=margins[doc],
                    passages=len(items) / max(k, 1),
                    crosslingual=float(bool(language_of_doc) and language_of_doc != language),
                ),
                tuple((p, lex, dense) for _, p, lex, dense in items),
            )
        )
    return out


def documents_for(
    question: str,
    found: list[Passage],
    implied: dict[tuple[int, int], frozenset[str]],
    *,
    language: str,
) -> list[ScoredDocument]:
    """The retrieved documents with their features, computed from the same signals the hand
    gate reads (portal/qa/engine/relevance.py)."""
    if not found:
        return []
    scored, covered = relevance_signals(question, found, implied)
    return documents_scored(scored, covered, language=language, k=len(found))


def hand_gate(features: list[float], config, language: str = "") -> bool:
    """The product's hand gate on one document, on the stored features, so both gates are
    compared on the same rows: the engine's own ``document_reason``."""
    f = DocumentFeatures(*features)
    reason = document_reason(
        crosslingual=bool(f.crosslingual), lexical=f.lexical, dense=f.dense,
        coverage=f.coverage, config=config, language=language,
    )  # fmt: skip
    return reason in PASSING_REASONS


def gate_rows(
    eval_set: EvalSet,
    *,
    limit: int | None,
    corpus_sample: int | None = None,
    progress: Progress | None = None,
) -> list[dict]:
    """``corpus_sample``: as ``answer_set`` (STARD's 58k articles cannot be ingested whole)."""
    if eval_set.split != "dev":
        raise ValueError("the relevance gate is fitted on dev splits only")
    corpus_set, questions = answer_set(
        eval_set, limit=limit, corpus_sample=corpus_sample, withhold=True
    )
    slugs = corpus_ingest(eval_set=corpus_set, progress=progress)
    user = evaluation_user()
    rows = []
    for n, question in enumerate(questions, start=1):
        collections = [slugs[c] for c in question.collections if c in slugs] or list(slugs.values())
        checked = safety.input_check(question.question)
        found = passages_search(
            question=checked.redacted_text,
            user=user,
            k=settings.ANSWER_PASSAGES,
            collections=collections,
        )
        implied = groups_mentioned(
            versions={(p.document_id, p.version) for p in found}, terms=DOCUMENT_GROUP_TERMS
        )
        for document in documents_for(
            checked.redacted_text, found, implied, language=checked.language
        ):
            title = document.passages[0][0].document_title
            rows.append(
                {
                    "set": eval_set.name,
                    "question": question.id,
                    "expect": question.expect,
                    "language": checked.language,
                    "gold": title in question.gold_doc_ids,
                    "features": document.features.vector().tolist(),
                    # What a reader of the pair (a cross-encoder, the LLM) would need.
                    "text": checked.redacted_text,
                    "passage": document.passages[0][0].text[:PASSAGE_CHARS],
                }
            )
        if not found:
            rows.append({"set": eval_set.name, "question": question.id,
                         "expect": question.expect, "language": checked.language,
                         "gold": False, "features": None})  # fmt: skip
        if progress and n % 10 == 0:
            progress(f"{eval_set.name} retrieval", n, len(questions))
    return rows


def _decisions(rows: list[dict], passes: list[bool]) -> dict:
    """Question-level figures of one gate: the product answers a question when one of its
    documents passes. ``answered``: share of answerable questions let through; ``gold``: ...let
    through by a gold document; ``refused``: share of withheld questions stopped."""
    questions: dict[tuple[str, str], list] = {}
    for row, ok in zip(rows, passes, strict=True):
        q = questions.setdefault((row["set"], row["question"]), [row["expect"], False, False])
        if ok:
            q[1] = True
            q[2] |= row["gold"]
    per_set: dict[str, dict] = {}
    for (name, _), (expect, passed, gold) in questions.items():
        s = per_set.setdefault(
            name, {"answerable": 0, "answered": 0, "gold": 0, "withheld": 0, "refused": 0}
        )
        if expect == "answer":
            s["answerable"] += 1
            s["answered"] += passed
            s["gold"] += gold
        else:
            s["withheld"] += 1
            s["refused"] += not passed

    def total(key: str, of: str) -> float:
        n = sum(s[of] for s in per_set.values())
        return round(sum(s[key] for s in per_set.values()) / n, 3) if n else 0.0

    return {
        "answered": total("answered", "answerable"),
        "gold": total("gold", "answerable"),
        "refused": total("refused", "withheld"),
        "per_set": per_set,
    }


def _curve(rows: list[dict], probability: dict[int, float], hand: dict) -> tuple[list, dict, dict]:
    """A learned gate's question-level figures over thresholds, the best at the hand gate's
    refusal rate and the best at ``REFUSAL_TARGET``."""

    def learned(threshold: float) -> dict:
        passes = [probability.get(i, 0.0) >= threshold for i in range(len(rows))]
        return {"threshold": threshold, **_decisions(rows, passes)}

    curve = [learned(float(t)) for t in np.round(np.arange(0.05, 0.96, 0.01), 2)]
    at_hand = max(
        (c for c in curve if c["refused"] >= hand["refused"]),
        key=lambda c: c["gold"],
        default=curve[-1],
    )
    at_target = max(
        (c for c in curve if c["refused"] >= REFUSAL_TARGET),
        key=lambda c: c["gold"],
        default=curve[-1],
    )
    return curve, at_hand, at_target


def pair_text(row: dict) -> str:
    """What the LLM reads for one (question, document) row: the question and the document's
    best passage, as a reader would see them."""
    return f"Question: {row['text']}\nPassage: {row['passage']}"


def _hidden_oof(x: np.ndarray, y: np.ndarray, keys: list[str], folds: int) -> np.ndarray:
    """Out-of-fold probabilities of a standardised logistic head over hidden states (folds by
    question, as the feature gate's)."""
    from sklearn.linear_model import LogisticRegression

    from portal.qa.verify.scorer import fold_of

    z = (x - x.mean(axis=0)) / np.where(x.std(axis=0) < 1e-8, 1.0, x.std(axis=0))
    fold = np.array([fold_of(k, folds) for k in keys])
    p = np.zeros(len(y))
    for k in range(folds):
        model = LogisticRegression(C=0.03, max_iter=3000).fit(z[fold != k], y[fold != k])
        p[fold == k] = model.predict_proba(z[fold == k])[:, 1]
    return p


def gates_compare(
    rows: list[dict],
    hand_config,
    *,
    folds: int = 5,
    l2: float = 1.0,
    encode: Callable[[list[str]], np.ndarray] | None = None,
) -> dict:
    """The hand gate and a logistic gate (out of fold) on the same rows: the hand gate's
    figures, the learned gate at the hand gate's refusal rate, and at ``REFUSAL_TARGET``.
    ``encode`` (the LLM's hidden states, llm_backend/hidden.py): also a head over the pair as
    the LLM reads it (``pair_text``), alone and as the mean logit with the feature gate."""
    usable = [i for i, r in enumerate(rows) if r["features"] is not None]
    x = np.array([rows[i]["features"] for i in usable])
    y = np.array([1.0 if rows[i]["gold"] else 0.0 for i in usable])
    if len(usable) < 30 or len(set(y)) < 2:
        raise ValueError(f"too few dev rows to fit a gate ({len(usable)})")
    keys = [f"{rows[i]['set']}/{rows[i]['question']}" for i in usable]
    oof = oof_probabilities(x, y, keys, folds=folds, l2=l2)
    probability = dict(zip(usable, oof, strict=True))
    hand = _decisions(
        rows,
        [
            r["features"] is not None
            and hand_gate(r["features"], hand_config, r.get("language", ""))
            for r in rows
        ],
    )
    curve, at_hand, at_target = _curve(rows, probability, hand)
    readers = {}
    if encode is not None:
        if any("passage" not in rows[i] for i in usable):
            raise ValueError("these rows have no passage text: rebuild them (no --reuse-rows)")
        hidden = _hidden_oof(encode([pair_text(rows[i]) for i in usable]), y, keys, folds)
        clip = np.clip
        mean_logit = (
            np.log(clip(oof, 1e-6, 1 - 1e-6) / clip(1 - oof, 1e-6, 1))
            + np.log(clip(hidden, 1e-6, 1 - 1e-6) / clip(1 - hidden, 1e-6, 1))
        ) / 2
        for name, p in (
            ("pair_reader", hidden),
            ("pair_reader_and_features", 1 / (1 + np.exp(-mean_logit))),
        ):
            _, reader_hand, reader_target = _curve(rows, dict(zip(usable, p, strict=True)), hand)
            readers[name] = {"at_hand_refusal": reader_hand, "at_target": reader_target}
    weights, bias = logistic_fit(x, y, l2=l2)
    return {
        "rows": len(rows),
        "questions": len({(r["set"], r["question"]) for r in rows}),
        "sets": sorted({r["set"] for r in rows}),
        "hand_gate": hand,
        "learned_at_hand_refusal": at_hand,
        "learned_at_target": at_target,
        **readers,
        "learned_weights": dict(
            zip(DocumentFeatures.NAMES, [round(float(v), 4) for v in weights], strict=True)
        )
        | {"bias": round(bias, 4)},
        "curve": [{k: v for k, v in c.items() if k != "per_set"} for c in curve],
        "fitted": date.today().isoformat(),
    }
