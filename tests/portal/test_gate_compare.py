"""Comparing the hand relevance gate with a learned one (portal/evaluation/gate.py)."""

from __future__ import annotations

import random
from dataclasses import replace

from portal.evaluation.gate import _decisions, documents_scored, gates_compare, hand_gate
from portal.knowledge.retrieval import Passage
from portal.qa.conf import RelevanceConfig

HAND = RelevanceConfig(
    min_lexical=0.5,
    min_dense=0.55,
    min_question_coverage=0.4,
    sole_question_coverage=0.6,
    keep_lexical=0.2,
    keep_dense=0.25,
    prompt_passages=3,
)


def _passage(doc: int, score: float, language: str = "en") -> Passage:
    return Passage(doc * 10, score, "text", f"doc{doc}", "c", 1, "", (), None, None, doc, language)


def test_documents_are_scored_by_their_best_passage_rank_and_margin():
    scored = [
        (_passage(1, 0.9), 0.6, 0.7),
        (_passage(2, 0.5, "zh"), 0.1, 0.4),
        (_passage(1, 0.4), 0.2, 0.3),
    ]
    docs = {
        d.document_id: d.features for d in documents_scored(scored, {1: 0.8}, language="en", k=3)
    }
    assert docs[1].rank == 1.0 and docs[1].margin == 0.9 - 0.5 and docs[1].passages == 2 / 3
    assert docs[1].lexical == 0.6 and docs[1].coverage == 0.8
    assert docs[2].crosslingual == 1.0 and docs[2].rank == 0.5 and docs[2].coverage == 0.0


def test_the_hand_gate_reads_the_stored_features_as_the_product_does():
    close_and_covered = [0.6, 0.3, 0.45, 0.9, 1.0, 0.1, 0.3, 0.0]
    assert hand_gate(close_and_covered, HAND)
    assert not hand_gate([0.6, 0.3, 0.3, 0.9, 1.0, 0.1, 0.3, 0.0], HAND)
    assert hand_gate([0.0, 0.6, 0.0, 0.9, 1.0, 0.1, 0.3, 1.0], HAND)  # across languages: dense


def test_a_chinese_question_has_its_own_coverage_floor():
    partly_covered = [0.3, 0.6, 0.33, 0.9, 1.0, 0.1, 0.3, 0.0]  # close by embedding, 33% covered
    zh_floor = replace(HAND, min_question_coverage_zh=0.3)
    assert hand_gate(partly_covered, zh_floor, "zh")
    assert not hand_gate(partly_covered, zh_floor, "en")
    assert not hand_gate(partly_covered, HAND, "zh")  # unset: the one floor for every language
    assert not hand_gate([0.3, 0.6, 0.25, 0.9, 1.0, 0.1, 0.3, 0.0], zh_floor, "zh")


def test_a_question_is_answered_when_any_document_passes():
    rows = [
        {"set": "s", "question": "a", "expect": "answer", "gold": False, "features": [0] * 8},
        {"set": "s", "question": "a", "expect": "answer", "gold": True, "features": [0] * 8},
        {"set": "s", "question": "w", "expect": "refuse", "gold": False, "features": [0] * 8},
    ]
    figures = _decisions(rows, [True, False, False])
    assert figures["answered"] == 1.0 and figures["gold"] == 0.0 and figures["refused"] == 1.0


def test_the_comparison_reports_both_gates_on_the_same_rows():
    rng = random.Random(7)
    rows = []
    for q in range(60):
        answerable = q % 4 != 0
        for d in range(3):
            gold = answerable and d == 0
            level = 0.8 if gold else 0.2
            features = [min(1.0, max(0.0, level + rng.uniform(-0.15, 0.15))) for _ in range(3)]
            rows.append({"set": "s", "question": str(q), "expect": "answer" if answerable
                         else "refuse", "gold": gold, "features": [*features, 0.5, 1 / (1 + d),
                         0.1, 0.3, 0.0]})  # fmt: skip
    report = gates_compare(rows, HAND)
    assert report["questions"] == 60
    assert report["hand_gate"]["refused"] >= 0.9
    assert report["learned_at_target"]["refused"] >= 0.95
    assert report["learned_at_target"]["gold"] >= 0.9  # separable rows: the model finds them


def test_the_pair_reader_is_judged_on_the_same_rows_and_needs_passages():
    import numpy as np
    import pytest

    rng = random.Random(3)
    rows = []
    for q in range(80):
        answerable = q % 4 != 0
        for d in range(3):
            gold = answerable and d == 0
            # The features cannot tell the gold document apart; the pair's text can.
            passage = ("answers it" if gold else "near topic") + f" {q} {d}"
            rows.append({"set": "s", "question": str(q), "expect": "answer" if answerable
                         else "refuse", "gold": gold, "features": [0.5, 0.5, 0.5, 0.5,
                         1 / (1 + d), 0.1, 0.3, 0.0], "text": f"question {q}",
                         "passage": passage})  # fmt: skip

    def encode(texts: list[str]) -> np.ndarray:
        # A stand-in for the LLM (the edge): one coordinate says whether the passage answers.
        return np.array([[1.0 if "answers it" in t else 0.0, rng.random()] for t in texts])

    report = gates_compare(rows, HAND, encode=encode)
    reader = report["pair_reader"]["at_target"]
    assert reader["refused"] >= 0.95 and reader["gold"] >= 0.9
    assert report["learned_at_target"]["gold"] < reader["gold"]
    assert set(report["pair_reader_and_features"]) == {"at_hand_refusal", "at_target"}
    for row in rows:
        del row["passage"]
    with pytest.raises(ValueError, match="passage"):
        gates_compare(rows, HAND, encode=encode)
