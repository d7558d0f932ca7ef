"""The first evaluation run of a fresh install: retrieval on the demo knowledge as loaded.

``make run`` loads the demo knowledge; without a run the evaluation page would be empty and say
nothing about how well retrieval does. ``evaluation_seed`` measures the demo question set
(portal/evaluation/data/demo_questions, all dev) on the demo collections themselves, not on a
copy: it ingests nothing, asks no model and writes no Answer, so it takes seconds (the embedder's
first load most of it). It runs only when no run is stored, so running it again adds none.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from django.conf import settings

from portal.accounts.selectors import VIEWER_ROLES, RoleViewer
from portal.evaluation import datasets
from portal.evaluation.models import EvaluationRun
from portal.evaluation.services import evaluation_run_record, recall_plot, retrievers_measure
from portal.knowledge.conf import RetrievalConfig
from portal.knowledge.retrieval import passages_search
from portal.knowledge.selectors import live_chunks

DEMO_SET = Path(__file__).resolve().parent / "data" / "demo_questions"
SEED_QUESTIONS = 12
SEED_K = 10


def _spread(items: list, n: int) -> list:
    """``n`` items spread evenly over the list (the set is ordered by document and kind)."""
    if n >= len(items):
        return list(items)
    step = len(items) / n
    return [items[int(i * step)] for i in range(n)]


def seed_retrievers() -> tuple[str, ...]:
    """The retrievers to compare: the reranking one only where a reranker is configured."""
    plain = ("bm25", "dense", "hybrid")
    return (*plain, "hybrid_rerank") if RetrievalConfig.from_settings().reranker else plain


def demo_retrieval_report(*, limit: int = SEED_QUESTIONS) -> dict | None:
    """Recall, MRR and nDCG of each retriever on ``limit`` demo questions that expect an
    answer, searched as each question's role over the demo collections. None when the demo
    knowledge is not loaded (no passage of its collections in use)."""
    eval_set = datasets.load(str(DEMO_SET), "dev")
    titles = {d.doc_id: d.title for d in eval_set.corpus}
    slugs = sorted({d.collection for d in eval_set.corpus if d.collection})
    if not live_chunks().filter(version__document__collection__slug__in=slugs).exists():
        return None
    answerable = [
        # Demo documents are titled as the manifest says; the set names them by path.
        replace(q, gold_doc_ids=tuple(titles[d] for d in q.gold_doc_ids if d in titles))
        for q in eval_set.questions
        if q.expect == "answer" and q.gold_doc_ids
    ]
    questions = _spread([q for q in answerable if q.gold_doc_ids], limit)
    report = {
        "dataset": eval_set.name,
        "split": eval_set.split,
        "n_questions": len(questions),
        "n_documents": len(eval_set.corpus),
        "retrievers": {},
        "recall_curve": {},
        "seed": "manage.py evaluate_seed: the demo collections as loaded, each question "
        "searched as its role",
    }

    def search(question, retriever: str):
        return passages_search(
            question=question.question,
            user=RoleViewer(question.role if question.role in VIEWER_ROLES else "citizen"),
            k=SEED_K,
            retriever=retriever,
            collections=list(question.collections) or slugs,
        )

    report.update(
        retrievers_measure(questions=questions, retrievers=seed_retrievers(), search=search)
    )
    return report


def evaluation_seed(*, limit: int = SEED_QUESTIONS) -> EvaluationRun | None:
    """Store one retrieval run on the demo knowledge, unless a run is already stored (or the
    demo is not loaded): returns the new run, or None when nothing was added."""
    if EvaluationRun.objects.exists():
        return None
    report = demo_retrieval_report(limit=limit)
    if report is None:
        return None
    plot = recall_plot(report=report, path=Path(settings.DATA_DIR) / "evaluation" / "seed.png")
    return evaluation_run_record(kind="retrieval", report=report, plot_path=str(plot))
