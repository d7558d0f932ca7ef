"""The cross-lingual evaluation questions (portal/evaluation/data/crosslingual) and their loaders:
dev questions of the English sets asked in Chinese, of STARD asked in English."""

from __future__ import annotations

import json
import re
from collections import Counter
from functools import cache

import pytest

from portal.evaluation import datasets
from tests.conftest import needs_shared_datasets
from textkit import cjk_count, has_cjk

ROWS = [json.loads(line) for line in datasets.CROSSLINGUAL.read_text("utf-8").splitlines() if line]
SETS = {"doc2dial_zh": 60, "policyqa_zh": 50, "pubmedqa_zh": 50, "stard_en": 40}
FULL_WIDTH = re.compile(r"[\u3000-\u303f\uff00-\uffef]")


@cache
def _original(origin: str) -> dict[str, datasets.EvalQuestion]:
    return {q.id: q for q in datasets.load(origin, "dev").questions}


def test_counts_and_fields():
    languages = Counter(row["language"] for row in ROWS)
    assert languages["zh"] >= 160
    assert languages["en"] >= 40
    assert set(languages) == {"zh", "en"}
    per_set = Counter(f"{row['origin_set']}_{row['language']}" for row in ROWS)
    for name, least in SETS.items():
        assert per_set[name] >= least, name
    assert len({row["id"] for row in ROWS}) == len(ROWS)
    for row in ROWS:
        assert row["split"] == "dev"  # never a test question
        assert row["id"] == f"{row['origin_set']}:{row['origin_id']}"
        assert row["language"] == ("en" if row["origin_set"] == "stard" else "zh")
        assert row["question"].strip() and row["question"] != row["original"]


def test_translations_are_in_the_target_language():
    for row in ROWS:
        text = row["question"]
        if row["language"] == "zh":
            # Chinese characters against Latin words: an English term in parentheses is allowed.
            cjk, words = cjk_count(text), len(re.findall(r"[A-Za-z]+", text))
            assert cjk / (cjk + words) >= 0.75, row["id"]
            assert not has_cjk(row["original"]), row["id"]
        else:
            assert not has_cjk(text) and not FULL_WIDTH.search(text), row["id"]
            assert has_cjk(row["original"]), row["id"]


def test_no_test_translations():
    for name in SETS:
        with pytest.raises(ValueError, match="no test translations"):
            datasets.load(name, "test")


@needs_shared_datasets
def test_origins_are_dev_questions_with_the_same_text():
    for row in ROWS:
        original = _original(row["origin_set"])
        assert row["origin_id"] in original, row["id"]
        assert original[row["origin_id"]].question == row["original"], row["id"]


@needs_shared_datasets
@pytest.mark.parametrize("name", SETS)
def test_loader_keeps_everything_but_the_question_text(name):
    origin = name.rsplit("_", 1)[0]
    rows = {r["origin_id"]: r for r in ROWS if r["origin_set"] == origin}
    eval_set = datasets.load(name, "dev")
    assert eval_set.name == name and eval_set.split == "dev"
    assert [q.id for q in eval_set.questions] == [q for q in _original(origin) if q in rows]
    for question in eval_set.questions:
        source = _original(origin)[question.id]
        assert question.question == rows[question.id]["question"]
        assert question.gold_doc_ids == source.gold_doc_ids and question.gold_doc_ids
        assert question.gold_spans == source.gold_spans
        assert question.collections == source.collections
        assert question.answer == source.answer
    gold = {d for q in eval_set.questions for d in q.gold_doc_ids}
    assert gold <= {doc.doc_id for doc in eval_set.corpus}
    assert eval_set.shared_corpus == (origin == "stard")
