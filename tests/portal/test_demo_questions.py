"""The demo question set (portal/evaluation/data/demo_questions): it loads through the folder
loader, has the mix its SOURCE.md promises, and its gold spans and corpus still match the demo
documents in demo/knowledge (so the set breaks loudly when those documents change)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from portal.evaluation.datasets import load

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "portal" / "evaluation" / "data" / "demo_questions"
DEMO = ROOT / "demo" / "knowledge"
STYLES = {"plain", "lay", "yes_no", "crosslingual"}


def _rows(name: str) -> list[dict]:
    lines = (FOLDER / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


@pytest.fixture(scope="module")
def evalset():
    return load(str(FOLDER), "dev")


@pytest.fixture(scope="module")
def raw_questions():
    # The folder loader keeps no `language` or `style`: read them from the JSONL itself.
    return _rows("questions.jsonl")


def test_loads_with_unique_ids_and_raw_rows_in_step(evalset, raw_questions):
    assert evalset.split == "dev"
    ids = [q.id for q in evalset.questions]
    assert len(ids) == len(set(ids)) >= 70
    assert ids == [row["id"] for row in raw_questions]
    assert len({d.doc_id for d in evalset.corpus}) == len(evalset.corpus)


def test_corpus_is_the_demo_knowledge_exactly(evalset):
    manifest = json.loads((DEMO / "manifest.json").read_text(encoding="utf-8"))
    docs = {d.doc_id: d for d in evalset.corpus}
    assert set(docs) == {entry["path"] for entry in manifest}
    for entry in manifest:
        doc = docs[entry["path"]]
        assert doc.text == (DEMO / entry["path"]).read_bytes().decode("utf-8"), doc.doc_id
        assert doc.title == entry["title"]
        assert doc.collection == entry["collection"]
        assert doc.language == entry["language"]


def test_gold_docs_and_spans_are_in_the_corpus(evalset):
    docs = {d.doc_id: d for d in evalset.corpus}
    for q in evalset.questions:
        if q.expect == "refuse":
            assert not q.gold_doc_ids and not q.gold_spans, q.id
            continue
        assert q.expect == "answer", q.id
        assert q.gold_doc_ids and q.gold_spans and q.answer, q.id
        assert all(doc_id in docs for doc_id in q.gold_doc_ids), q.id
        for span in q.gold_spans:
            assert any(span in docs[d].text for d in q.gold_doc_ids), (q.id, span)


def test_mix_of_styles_languages_roles_and_refusals(evalset, raw_questions):
    docs = {d.doc_id: d for d in evalset.corpus}
    staff_only = {
        entry["path"]
        for entry in json.loads((DEMO / "manifest.json").read_text(encoding="utf-8"))
        if entry["audience"] == "staff"
    }
    mix: Counter = Counter()
    for q, row in zip(evalset.questions, raw_questions, strict=True):
        assert row["language"] in {"en", "zh"} and row["style"] in STYLES, q.id
        if q.expect == "refuse":
            mix["refuse"] += 1
            continue
        doc_lang = docs[q.gold_doc_ids[0]].language
        # Crosslingual exactly when the question's language is not its document's.
        assert (row["style"] == "crosslingual") == (row["language"] != doc_lang), q.id
        expected_role = "staff" if set(q.gold_doc_ids) & staff_only else "citizen"
        assert q.role == expected_role, q.id
        mix[(row["language"], doc_lang)] += 1
        if row["language"] == doc_lang == "en":
            mix[row["style"]] += 1
    assert mix[("en", "en")] >= 30
    assert mix["lay"] >= 10 and mix["yes_no"] >= 10 and mix["plain"] >= 10
    assert mix[("zh", "en")] >= 15
    assert mix[("zh", "zh")] >= 8
    assert mix[("en", "zh")] >= 3
    assert mix["refuse"] >= 12


def test_refusals_include_a_child_dosing_question_with_forbidden_doses(evalset):
    refusals = [q for q in evalset.questions if q.expect == "refuse"]
    assert any("mg/kg" in q.forbidden and "year-old" in q.question for q in refusals)
    assert all(all(f.strip() for f in q.forbidden) for q in refusals)
