"""Fitting the answer-sentence scorer (portal/qa/verify/answering.py) on dev gold spans.

For each answerable dev question with gold spans (doc2dial, PolicyQA, the demo questions), the
sentences around the span in its gold document are rows: ``AnswerFeatures`` against the question,
labelled 1 when the sentence lies inside a gold span (it covers at least half of the sentence or
holds the whole span). The logistic model is judged on out-of-fold top-1 precision (is the best
ranked sentence of the question's window a gold one?) against the coverage ranking quoting used.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date

import numpy as np

import textkit
from portal.evaluation.datasets import EvalSet
from portal.qa.verify.answering import AnswerFeatures, answer_features
from portal.qa.verify.scorer import logistic_fit, oof_probabilities

WINDOW = 3  # sentences either side of the span's first sentence: about a retrieved passage
Weigher = Callable[[str], Callable[[str], float]]  # question -> (text -> IDF share)


def _overlap(span: tuple[int, int], sentence: tuple[int, int]) -> float:
    start, end = max(span[0], sentence[0]), min(span[1], sentence[1])
    return max(0, end - start) / max(1, sentence[1] - sentence[0])


def answering_rows(eval_set: EvalSet, *, limit: int, weigher: Weigher | None) -> list[dict]:
    if eval_set.split != "dev":
        raise ValueError("the answer-sentence scorer is fitted on dev splits only")
    docs = {d.doc_id: d for d in eval_set.corpus}
    rows = []
    questions = [q for q in eval_set.questions if q.expect == "answer"]
    for question in questions[:limit]:
        spans = question.gold_spans or question.gold_answers
        doc = next((docs[d] for d in question.gold_doc_ids if d in docs), None)
        if doc is None or not spans:
            continue
        located = [
            (doc.text.find(span), doc.text.find(span) + len(span))
            for span in spans
            if span and doc.text.find(span) >= 0
        ]
        if not located:
            continue
        sentences = textkit.sentence_spans(doc.text)
        first = next((i for i, s in enumerate(sentences) if _overlap(located[0], s) > 0), 0)
        weigh = weigher(question.question) if weigher else None
        window = range(max(0, first - WINDOW), min(len(sentences), first + WINDOW + 1))
        for i in window:
            start, end = sentences[i]
            text = doc.text[start:end]
            gold = any(
                _overlap(span, (start, end)) >= 0.5 or (start <= span[0] and span[1] <= end)
                for span in located
            )
            rows.append(
                {
                    "set": eval_set.name,
                    "question": question.id,
                    "gold": gold,
                    "features": answer_features(
                        question.question,
                        text,
                        weigh=weigh,
                        previous=doc.text[slice(*sentences[i - 1])] if i else "",
                    )
                    .vector()
                    .tolist(),
                }
            )
    return rows


def _top1(rows: list[dict], scores: np.ndarray) -> float:
    best: dict[tuple[str, str], tuple[float, bool]] = {}
    for row, score in zip(rows, scores, strict=True):
        key = (row["set"], row["question"])
        if key not in best or score > best[key][0]:
            best[key] = (float(score), row["gold"])
    return round(sum(g for _, g in best.values()) / len(best), 3) if best else 0.0


FLOORS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5)


def floor_table(rows: list[dict], scores: np.ndarray) -> list[dict]:
    """What each candidate ANSWER_MIN_ANSWER_SCORE would do on out-of-fold scores: the share of
    gold sentences still publishable, of other sentences stopped, and of questions whose best
    gold sentence survives (the answer can still be given)."""
    gold = np.array([bool(r["gold"]) for r in rows])
    keys = [(r["set"], r["question"]) for r in rows]
    best_gold: dict[tuple[str, str], float] = {}
    for key, score, is_gold in zip(keys, scores, gold, strict=True):
        if is_gold:
            best_gold[key] = max(best_gold.get(key, 0.0), float(score))
    table = []
    for floor in FLOORS:
        table.append(
            {
                "floor": floor,
                "gold_kept": round(float((scores[gold] >= floor).mean()), 3),
                "other_stopped": round(float((scores[~gold] < floor).mean()), 3),
                "questions_answerable": round(
                    sum(v >= floor for v in best_gold.values()) / max(1, len(best_gold)), 3
                ),
            }
        )
    return table


def answering_fit(rows: list[dict], *, folds: int = 5, l2: float = 1.0) -> tuple[dict, dict]:
    x = np.array([r["features"] for r in rows])
    y = np.array([1.0 if r["gold"] else 0.0 for r in rows])
    if len(rows) < 50 or len(set(y)) < 2:
        raise ValueError(f"too few dev rows to fit the answer scorer ({len(rows)})")
    keys = [f"{r['set']}/{r['question']}" for r in rows]
    oof = oof_probabilities(x, y, keys, folds=folds, l2=l2)
    coverage_column = AnswerFeatures.NAMES.index("question_coverage")
    weighted_column = AnswerFeatures.NAMES.index("weighted_coverage")
    figures = {
        "questions": len(set(keys)),
        "sentences": len(rows),
        "top1_learned_out_of_fold": _top1(rows, oof),
        "top1_question_coverage": _top1(rows, x[:, coverage_column]),
        "top1_idf_coverage": _top1(rows, x[:, weighted_column]),
    }
    per_set = {}
    for name in sorted({r["set"] for r in rows}):
        mask = np.array([r["set"] == name for r in rows])
        subset = [r for r in rows if r["set"] == name]
        per_set[name] = {
            "learned": _top1(subset, oof[mask]),
            "coverage": _top1(subset, x[mask][:, coverage_column]),
        }
    figures["per_set"] = per_set
    figures["floors"] = floor_table(rows, oof)
    weights, bias = logistic_fit(x, y, l2=l2)
    digest = hashlib.sha256(repr(rows).encode()).hexdigest()
    model = {
        "version": f"answering-lr-{digest[:12]}",
        "kind": "logistic",
        "features": list(AnswerFeatures.NAMES),
        "weights": [round(float(v), 5) for v in weights],
        "bias": round(bias, 5),
        "trained_on": {"digest": digest, "fitted": date.today().isoformat(), **figures},
    }
    return model, figures
