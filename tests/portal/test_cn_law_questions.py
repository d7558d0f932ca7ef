"""The Chinese law question set (portal/evaluation/data/cn_law_questions, issue 23): it loads in
two halves split by a hash of the question, every gold article exists in its demo document with
the gold spans inside it, and the answers evaluation grades "the gold article was cited" from a
citation's section path. No model; one test ingests a two-article law."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
from django.core.management import call_command

from portal.evaluation.answers import _cites_gold_section, answer_set
from portal.evaluation.datasets import CN_LAW_QUESTIONS, DATASETS_DIR, EvalQuestion, load

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "demo" / "knowledge"
STARD = DATASETS_DIR / "stard_lecoqa_zh"


def _rows() -> list[dict]:
    lines = CN_LAW_QUESTIONS.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _articles(path: str) -> tuple[str, dict[str, str]]:
    """A demo law's title (its H1) and its articles: heading (第N条) -> text."""
    text = (DEMO / path).read_text(encoding="utf-8")
    parts = re.split(r"^## (第.+条)$", text, flags=re.M)
    return text.splitlines()[0].removeprefix("# "), dict(zip(parts[1::2], parts[2::2], strict=True))


@pytest.fixture(scope="module")
def halves():
    return {split: load("cn_law", split) for split in ("dev", "test")}


def test_loads_in_two_halves_split_by_a_hash_of_the_question(halves):
    rows = {row["id"]: row for row in _rows()}
    dev, test = halves["dev"].questions, halves["test"].questions
    assert {q.id for q in dev}.isdisjoint(q.id for q in test)
    assert {q.id for q in dev} | {q.id for q in test} == set(rows)
    for split, evalset in halves.items():
        assert evalset.split == split and evalset.labelled_refusals
        for q in evalset.questions:
            digest = hashlib.sha1(q.question.encode("utf-8"), usedforsecurity=False).hexdigest()
            assert split == ("dev" if digest[0] in "01234567" else "test") == rows[q.id]["split"]
    answerable = [r for r in rows.values() if r["expect"] == "answer"]
    assert len(answerable) >= 70 and sum(r["expect"] == "refuse" for r in rows.values()) >= 10
    assert {r["language"] for r in rows.values()} == {"zh"}
    assert min(len(halves[s].questions) for s in halves) >= 30


def test_every_gold_article_exists_and_holds_its_gold_spans():
    manifest = {e["path"]: e for e in json.loads((DEMO / "manifest.json").read_text("utf-8"))}
    for row in _rows():
        if row["expect"] == "refuse":
            assert not (row["gold_doc_ids"] or row["gold_sections"] or row["gold_spans"]), row
            continue
        assert row["gold_sections"] and row["gold_spans"] and row["answer"], row["id"]
        texts = []
        for gold in row["gold_sections"]:
            entry = manifest[gold["doc_id"]]
            assert entry["collection"] == "cn-law"
            title, articles = _articles(gold["doc_id"])
            assert gold["title"] == title == entry["title"], row["id"]
            assert gold["section"] in articles, f"{row['id']}: no {gold['section']} in {title}"
            texts.append(articles[gold["section"]])
        assert row["gold_doc_ids"] == list(dict.fromkeys(g["doc_id"] for g in row["gold_sections"]))
        for span in row["gold_spans"]:
            assert any(span in text for text in texts), f"{row['id']}: {span}"


def test_searched_over_the_public_demo_documents_with_nothing_withheld(halves):
    evalset = halves["dev"]
    collections = {doc.collection for doc in evalset.corpus}
    assert "cn-law" in collections and "clinical-cases-zh" not in collections  # staff only
    corpus, questions = answer_set(evalset, limit=None)
    # The set labels its own refusals: no law is withheld, no question relabelled.
    assert corpus.corpus == evalset.corpus
    assert [q.expect for q in questions] == [q.expect for q in evalset.questions]


def test_the_gold_article_counts_as_cited_only_by_its_section_in_its_document():
    question = EvalQuestion(
        "q",
        "护照有效期几年？",
        gold_doc_ids=("cn-law/prc-passport-law.md",),
        gold_sections=(("cn-law/prc-passport-law.md", "第七条"),),
    )

    def cited(document: str, section: list[str]) -> bool:
        return _cites_gold_section(question, {"1": {"document": document, "section": section}})

    assert cited("cn-law/prc-passport-law.md", ["中华人民共和国护照法", "第七条"])
    assert not cited("cn-law/prc-passport-law.md", ["中华人民共和国护照法", "第六条"])
    assert not cited("cn-law/prc-resident-identity-card-law.md", ["第七条"])
    assert not cited("cn-law/prc-passport-law.md", [])


@pytest.mark.skipif(not STARD.exists(), reason="the STARD dataset is not on this machine")
def test_stard_subset_is_dev_only_with_gold_articles_in_the_demo_laws():
    with pytest.raises(ValueError, match="dev split only"):
        load("stard_cn_law", "test")
    evalset = load("stard_cn_law", "dev")
    assert evalset.questions
    for q in evalset.questions:
        assert q.gold_sections and q.expect == "answer"
        for doc_id, section in q.gold_sections:
            assert section in _articles(doc_id)[1], (q.id, doc_id, section)


def test_evaluate_answers_reports_the_article_cited_with_intervals(db, tmp_path):
    # Given a two-article law and a question labelled with its gold article
    folder = tmp_path / "law"
    folder.mkdir()
    articles = ["## 第六条", "护照应当在十五日内签发。", "## 第七条", "普通护照的有效期为十年。"]
    law = "\n\n".join(["# 护照法", *articles])
    corpus = [{"doc_id": "passport-law", "title": "护照法", "text": law, "language": "zh"}]
    questions = [
        {
            "id": "q1",
            "question": "普通护照的有效期为几年？",
            "gold_doc_ids": ["passport-law"],
            "gold_sections": [{"doc_id": "passport-law", "section": "第七条"}],
        }
    ]
    for name, rows in (("corpus.jsonl", corpus), ("questions.jsonl", questions)):
        lines = "\n".join(json.dumps(r, ensure_ascii=False) for r in rows)
        (folder / name).write_text(lines + "\n", encoding="utf-8")
    out = tmp_path / "report.json"
    # When the answers evaluation runs (the test settings' extractive backend)
    call_command(
        "evaluate", "answers", "--dataset", str(folder), "--split", "dev", "--out", str(out)
    )
    report = json.loads(out.read_text(encoding="utf-8"))
    # Then the answer cites 第七条 and the report says so, with its interval
    assert report["metrics"]["section_cited_rate"] == 1.0
    cited = report["intervals"]["section_cited"]
    assert (cited["k"], cited["n"]) == (1, 1) and cited["ci95"][1] == 1.0
    assert report["intervals"]["answered_expect_answer"]["k"] == 1
