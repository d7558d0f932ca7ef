"""The evaluation harness: folder format through real ingestion and retrieval, metrics, report."""

import json

from django.core.management import call_command

from portal.evaluation.metrics import ranking_metrics
from portal.evaluation.models import EvaluationRun
from portal.knowledge.retrieval import passages_search


def test_ranking_metrics_by_hand():
    # Gold items 0 and 1; rank 2 matches item 0, rank 4 matches item 1.
    hits = [set(), {0}, set(), {1}]
    m = ranking_metrics(hits, 2)
    assert m["recall@1"] == 0 and m["recall@5"] == 1.0 and m["mrr@10"] == 0.5
    ideal = 1 + 1 / 1.5849625
    assert abs(m["ndcg@10"] - (1 / 1.5849625 + 1 / 2.3219281) / ideal) < 1e-6


def _folder(tmp_path):
    corpus = [
        {
            "doc_id": "snap",
            "title": "SNAP",
            "text": "SNAP food benefits need income below 130 percent of poverty.",
        },
        {
            "doc_id": "heat",
            "title": "Heating",
            "text": "Heating assistance applications open November 1.",
        },
        {
            "doc_id": "yibao",
            "title": "医保",
            "text": "新生儿出生后三个月内参保的，自出生之日起享受待遇。",
            "language": "zh",
        },
    ]
    questions = [
        {
            "id": "q1",
            "question": "What income limit applies to food benefits?",
            "gold_doc_ids": ["snap"],
        },
        {"id": "q2", "question": "When can I apply for heating help?", "gold_doc_ids": ["heat"]},
        {"id": "q3", "question": "新生儿什么时候参保？", "gold_doc_ids": ["yibao"]},
    ]
    for name, rows in (("corpus.jsonl", corpus), ("questions.jsonl", questions)):
        (tmp_path / name).write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows))
    return tmp_path


def test_evaluate_retrieval_on_a_folder(db, tmp_path, make_user):
    (tmp_path / "mini").mkdir()
    folder = _folder(tmp_path / "mini")
    out = tmp_path / "report.json"
    call_command(
        "evaluate", "retrieval", "--dataset", str(folder), "--split", "test", "--out", str(out)
    )
    report = json.loads(out.read_text())
    assert report["n_questions"] == 3 and set(report["retrievers"]) == {
        "bm25",
        "dense",
        "hybrid",
        "hybrid_rerank",
    }
    assert report["retrievers"]["hybrid"]["recall@5"] == 1.0
    assert {
        "recall@1",
        "recall@10",
        "mrr@10",
        "ndcg@10",
        "latency_ms_p50",
        "latency_ms_p95",
    } <= set(report["retrievers"]["dense"])
    assert out.with_suffix(".png").stat().st_size > 1000
    assert EvaluationRun.objects.get().report["dataset"] == "mini"
    # Evaluation corpora stay out of everyone else's answers.
    assert passages_search(question="food benefits income limit", user=make_user(None)) == []
    assert passages_search(question="food benefits income limit", user=make_user("admin")) == []
