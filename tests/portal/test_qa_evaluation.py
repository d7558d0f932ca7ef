"""`manage.py evaluate answers` on a small folder dataset, and the independent support judge."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from django.core.management import call_command

from portal.evaluation.answers import _withheld, answer_set, refusal_step, strict_support
from portal.evaluation.datasets import CorpusDoc, EvalQuestion, EvalSet
from portal.evaluation.models import EvaluationRun
from tests.conftest import needs_shared_datasets

CORPUS = [
    {
        "doc_id": "passport",
        "title": "Passport renewal",
        "text": "Adults may renew a passport by mail if it was issued in the last 15 years. "
        "Mail renewal takes 6 to 8 weeks.",
    },
    {
        "doc_id": "benefit",
        "title": "Child benefit",
        "text": "Child benefit is paid every four weeks. You can claim it for a child under 16.",
    },
]
QUESTIONS = [
    {"id": "q1", "question": "How long does passport renewal by mail take?",
     "gold_doc_ids": ["passport"], "forbidden": ["2 weeks"]},
    {"id": "q2", "question": "How often is child benefit paid?", "gold_doc_ids": ["benefit"]},
    {"id": "q3", "question": "What is the income limit for housing assistance in Ohio?",
     "expect": "refuse"},
]  # fmt: skip


@pytest.fixture
def folder(tmp_path):
    path = tmp_path / "mini"
    path.mkdir()
    for name, rows in (("corpus.jsonl", CORPUS), ("questions.jsonl", QUESTIONS)):
        (path / name).write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def test_evaluate_answers_reports_gold_graded_metrics(db, folder, tmp_path, capsys):
    out = tmp_path / "answers.json"
    call_command(
        "evaluate", "answers", "--dataset", str(folder), "--split", "test", "--out", str(out)
    )
    report = json.loads(out.read_text())
    assert report["dataset"] == "mini" and report["n_questions"] == 3
    metrics = report["metrics"]
    assert set(metrics) >= {
        "citation_precision", "citation_recall", "cited_sentence_fraction",
        "unsupported_before_verification", "unsupported_published",
        "refusal_rate_expect_refuse", "refusal_rate_expect_answer", "forbidden_hit_rate",
        "accuracy", "token_f1", "latency_ms_p50", "latency_ms_p95",
    }  # fmt: skip
    assert metrics["citation_precision"] == 1.0
    assert metrics["citation_recall"] == 1.0
    assert metrics["cited_sentence_fraction"] == 1.0
    assert metrics["draft_cited_fraction"] == 1.0  # the extractive backend always cites
    assert metrics["unsupported_published"] == 0.0
    assert metrics["refusal_rate_expect_refuse"] == 1.0
    assert metrics["refusal_rate_expect_answer"] == 0.0
    assert metrics["forbidden_hit_rate"] == 0.0
    assert metrics["accuracy"] is None and metrics["token_f1"] is None  # not this dataset's
    assert "strict containment" in report["judge"]
    assert report["counts"]["answerable_refused_by_step"] == {}  # both answerable were answered
    assert EvaluationRun.objects.filter(kind="answers", dataset="mini").exists()
    assert "citation_precision" in capsys.readouterr().out


def test_draft_format_adherence_counts_uncited_and_unknown_labels(
    db, folder, tmp_path, monkeypatch
):
    """A model that drops or invents citation markers scores below 1 on the draft, although
    verification leaves every published sentence cited."""
    from portal.qa.engine import answer as pipeline
    from tests.portal.test_qa_pipeline import ScriptedModel

    model = ScriptedModel("Mail renewal takes 6 to 8 weeks. Child benefit is paid often [7].")
    monkeypatch.setattr(pipeline, "generation_backend", lambda: model)
    out = tmp_path / "answers.json"
    call_command(
        "evaluate", "answers", "--dataset", str(folder), "--split", "test", "--out", str(out)
    )
    metrics = json.loads(out.read_text())["metrics"]
    assert model.requests  # the scripted model drafted
    assert metrics["draft_cited_fraction"] == 0.0
    assert metrics["cited_sentence_fraction"] in (1.0, None)


@pytest.mark.parametrize(
    ("reason", "draft", "verification", "step"),
    [
        ("no_support", "", [], "no_support:relevance_gate"),
        ("no_support", "It is paid [1].", [{"supported": False}], "no_support:after_generation"),
        ("held", "It is paid [1].", [{"supported": True}], "held"),
        ("unsafe", "", [], "unsafe"),
    ],
)
def test_refusal_step_names_where_an_answerable_question_was_lost(
    reason, draft, verification, step
):
    outcome = SimpleNamespace(
        refusal_reason=reason,
        status="refused",
        answer=SimpleNamespace(draft=draft, verification=verification),
    )
    assert refusal_step(outcome) == step


def test_built_in_sets_withhold_every_fifth_gold_document():
    corpus = [CorpusDoc(f"d{i}", f"d{i}", "text") for i in range(40)]
    questions = [EvalQuestion(f"q{i}", "?", gold_doc_ids=(f"d{i}",)) for i in range(40)]
    corpus_set, marked = answer_set(EvalSet("pubmedqa", "test", corpus, questions), limit=None)
    refused = [q for q in marked if q.expect == "refuse"]
    assert 0 < len(refused) < 20
    kept = {d.doc_id for d in corpus_set.corpus}
    assert all(q.gold_doc_ids[0] not in kept for q in refused)
    assert all(q.gold_doc_ids[0] in kept for q in marked if q.expect == "answer")
    assert corpus_set.name.startswith("pubmedqa-answers-")
    other, _ = answer_set(EvalSet("pubmedqa", "test", corpus, questions), limit=10)
    assert other.name != corpus_set.name  # another withheld set gets its own collection


def test_a_corpus_sample_keeps_the_gold_documents_and_n_others():
    corpus = [CorpusDoc(f"d{i}", f"d{i}", "text") for i in range(200)]
    questions = [EvalQuestion(f"q{i}", "?", gold_doc_ids=(f"d{i}",)) for i in range(200)]
    full = EvalSet("stard", "test", corpus, questions, shared_corpus=True)
    sampled, marked = answer_set(full, limit=10, corpus_sample=25)
    gold = {q.gold_doc_ids[0] for q in marked}
    kept = {d.doc_id for d in sampled.corpus}
    answerable = {q.gold_doc_ids[0] for q in marked if q.expect == "answer"}
    assert answerable <= kept and not (gold - answerable) & kept  # withheld stay withheld
    assert len(kept - gold) == 25
    again, _ = answer_set(full, limit=10, corpus_sample=25)
    assert {d.doc_id for d in again.corpus} == kept and again.name == sampled.name
    unsampled, _ = answer_set(full, limit=10)
    assert unsampled.name != sampled.name  # a sampled corpus gets its own collection


@pytest.mark.parametrize(
    ("sentence", "supported"),
    [
        ("Mail renewal takes 6 to 8 weeks.", True),
        ("Renewal by mail takes 6 to 8 weeks.", True),
        ("Mail renewal takes 2 to 3 weeks.", False),  # numbers differ
        ("Mail renewal does not take 6 to 8 weeks.", False),  # negation differs
        ("Adults can renew online quickly and cheaply.", False),  # words not in the passage
    ],
)
def test_strict_judge(sentence, supported):
    passage = CORPUS[0]["text"]
    assert strict_support(sentence, [passage]) is supported


def test_strict_judge_reads_a_quote_verbatim_but_for_its_closing_mark():
    article = (
        "有下列情形之一，劳动者应当支付违约金：（一）劳动者拒不改正的；（二）被追究刑事责任的。"
    )
    assert strict_support("有下列情形之一，劳动者应当支付违约金。", [article])
    # A source's line breaks inside Chinese text are no word boundary (STARD dev).
    listed = "应当提交下列材料：\n\n（一）起诉状；\n\n（二）不特定消费者的证据。"
    assert strict_support("应当提交下列材料：（一）起诉状；", [listed])
    # ...but a quote cut where the passage goes on ("not in person") is no quote.
    assert not strict_support("You can renew by mail.", ["You can renew by mail, not in person."])


def test_a_question_with_a_gold_document_left_must_be_answered():
    # Two gold paragraphs (PolicyQA annotates one question on several): withholding one leaves
    # the question answerable from the other; it expects a refusal only when both are gone.
    corpus = [CorpusDoc(f"d{i}", f"d{i}", "text") for i in range(40)]
    withheld = [d.doc_id for d in corpus if _withheld(d.doc_id)]
    kept = [d.doc_id for d in corpus if not _withheld(d.doc_id)]
    questions = [
        EvalQuestion("both-gone", "?", gold_doc_ids=(withheld[0], withheld[1])),
        EvalQuestion("one-left", "?", gold_doc_ids=(withheld[2], kept[0])),
    ]
    corpus_set, marked = answer_set(EvalSet("policyqa", "test", corpus, questions), limit=None)
    assert [q.expect for q in marked] == ["refuse", "answer"]
    remaining = {d.doc_id for d in corpus_set.corpus}
    assert kept[0] in remaining and withheld[2] not in remaining


@needs_shared_datasets
def test_policyqa_asks_each_question_once_with_every_paragraph_that_answers_it():
    from portal.evaluation.datasets import DATASETS_DIR, policyqa

    data = json.loads((DATASETS_DIR / "policyqa" / "dev.json").read_text())["data"]
    questions = policyqa("dev").questions
    keys = [(q.collections, " ".join(q.question.lower().split())) for q in questions]
    assert len(keys) == len(set(keys))  # each question once per policy
    policy = data[0]
    wanted = policy["paragraphs"][2]["qas"][0]["question"]  # "Do you ask for my contact ...?"
    expected = tuple(
        f"{policy['title']}#{i}"
        for i, paragraph in enumerate(policy["paragraphs"])
        if any(qa["question"] == wanted for qa in paragraph["qas"])
    )
    (question,) = [
        q
        for q in questions
        if q.question == wanted.strip() and q.collections == ("ticketmastercom",)
    ]
    assert question.gold_doc_ids == expected
    assert sum(len(q.gold_doc_ids) > 1 for q in questions) > 500


@needs_shared_datasets
def test_cmb_clin_asks_each_question_about_its_own_case():
    from portal.evaluation.datasets import cmb_clin, load

    data = load("cmb_clin", "test")
    assert len(data.corpus) == 74 and len(data.questions) == 208
    first = data.questions[0]
    assert first.question == "腹外疝病例：简述该病人的诊断及诊断依据。"
    assert first.gold_doc_ids == first.collections == ("cmb-clin-0",)
    assert first.answer.startswith("诊断：嵌顿性腹股沟斜疝")
    assert {d.collection for d in data.corpus} == {d.doc_id for d in data.corpus}
    with pytest.raises(ValueError, match="test split only"):
        cmb_clin("dev")


def test_a_fresh_sample_leaves_out_every_question_an_earlier_limit_used():
    from portal.evaluation.answers import _spread, fresh_questions
    from portal.evaluation.datasets import EvalQuestion

    questions = [EvalQuestion(str(i), f"question {i}") for i in range(100)]
    fresh = fresh_questions(questions, exclude_limits=(10, 40))
    used = {q.id for n in (10, 40) for q in _spread(questions, n)}
    assert fresh and not used & {q.id for q in fresh}
    assert len(fresh) == 100 - len(used)
