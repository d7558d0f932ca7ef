"""Running an evaluation set through the real ingestion and retrieval code."""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils.text import slugify

from portal.evaluation.datasets import EvalQuestion, EvalSet
from portal.evaluation.metrics import RetrieverTally
from portal.evaluation.models import EvaluationRun
from portal.knowledge.models import Audience, DocumentVersion, VersionStatus
from portal.knowledge.pipeline import ingestion_run_many
from portal.knowledge.retrieval import RETRIEVERS, Passage, passages_search
from portal.knowledge.services import collection_get_or_create, document_upload

Progress = Callable[[str, int, int], None]
EVALUATION_GROUP = "evaluation"
_SPACE = re.compile(r"\s+")


def evaluation_user():
    """A login-less account whose only access is the evaluation collections.

    Evaluation corpora are ordinary collections with audience "named groups", visible to this
    group alone, so they never reach citizens or staff.
    """
    group, _ = Group.objects.get_or_create(name=EVALUATION_GROUP)
    user, created = get_user_model().objects.get_or_create(username="evaluation-runner")
    if created:
        user.set_unusable_password()
        user.save()
    user.groups.add(group)
    return user


def _collection_slug(eval_set: EvalSet, sub: str = "") -> str:
    base = f"eval-{eval_set.name}"
    if not eval_set.shared_corpus:
        base += f"-{eval_set.split}"
    return slugify(base + (f"-{sub}" if sub else ""))[:80]


def _stored_versions(collection_ids: list[int]) -> dict[tuple[int, str], tuple[str, int, str]]:
    """(collection id, title) -> (sha256, job id, job status) of the newest version of each live
    document, in one query, so a re-run skips what is stored without a round trip per document
    (STARD has 58k documents)."""
    rows = (
        DocumentVersion.objects.filter(
            document__collection_id__in=collection_ids, document__deleted_at__isnull=True
        )
        .exclude(status=VersionStatus.FAILED)
        .order_by("document_id", "number")
        .values_list(
            "document__collection_id", "document__title", "sha256", "job__pk", "job__status"
        )
    )
    return {(c, title): (sha, job_id, status) for c, title, sha, job_id, status in rows}


def corpus_ingest(*, eval_set: EvalSet, progress: Progress | None = None) -> dict[str, str]:
    """Ingest the corpus with the production pipeline; returns {corpus collection: slug}.

    Documents are titled by their ``doc_id`` so retrieved passages map back to gold ids.
    Re-running is cheap: documents already stored with the same content are skipped (and
    finished when an earlier run was interrupted before they were done).
    """
    group = Group.objects.get_or_create(name=EVALUATION_GROUP)[0]
    slugs: dict[str, str] = {}
    collections = {}
    for doc in eval_set.corpus:
        if doc.collection not in slugs:
            slug = slugs[doc.collection] = _collection_slug(eval_set, doc.collection)
            collection = collection_get_or_create(
                slug=slug, name=slug, audience=Audience.GROUPS, languages=[doc.language]
            )
            collection.groups.add(group)
            collections[doc.collection] = collection
    stored = _stored_versions([c.pk for c in collections.values()])
    jobs: list[int] = []
    for i, doc in enumerate(eval_set.corpus, start=1):
        collection = collections[doc.collection]
        data = f"# {doc.title}\n\n{doc.text}\n".encode()
        known = stored.get((collection.pk, doc.doc_id))
        if known and known[0] == hashlib.sha256(data).hexdigest():
            if known[2] != "done":  # stored by an earlier run that was interrupted
                jobs.append(known[1])
            continue
        with transaction.atomic():
            result = document_upload(
                collection=collection,
                data=data,
                filename=f"{slugify(doc.doc_id)[:100] or 'doc'}.md",
                title=doc.doc_id,
                enqueue=False,
            )
        if result.job is not None:
            jobs.append(result.job.pk)
        elif result.duplicate_of is not None and result.duplicate_of.job.status != "done":
            jobs.append(result.duplicate_of.job.pk)
        if progress and i % 50 == 0:
            progress("store", i, len(eval_set.corpus))
    if jobs:
        ingestion_run_many(job_ids=jobs, progress=progress)
    return slugs


def _normalize(text: str) -> str:
    return _SPACE.sub(" ", text).strip().lower()


def _matches(question: EvalQuestion, passage: Passage) -> set[int]:
    """Indexes of the gold items a passage matches: spans when the set has them, else doc ids."""
    if question.gold_spans:
        if passage.document_title not in question.gold_doc_ids:
            return set()
        text = _normalize(passage.text)
        return {i for i, span in enumerate(question.gold_spans) if _normalize(span) in text}
    return {i for i, doc_id in enumerate(question.gold_doc_ids) if doc_id == passage.document_title}


def retrieval_evaluate(
    *,
    eval_set: EvalSet,
    limit: int | None = None,
    retrievers: tuple[str, ...] = RETRIEVERS,
    progress: Progress | None = None,
) -> dict:
    slugs = corpus_ingest(eval_set=eval_set, progress=progress)
    user = evaluation_user()
    questions = eval_set.questions[:limit] if limit else eval_set.questions
    report = {
        "dataset": eval_set.name,
        "split": eval_set.split,
        "n_questions": len(questions),
        "n_documents": len(eval_set.corpus),
        "retrievers": {},
        "recall_curve": {},
    }

    def search(question: EvalQuestion, retriever: str) -> list[Passage]:
        collections = [slugs[c] for c in question.collections if c in slugs] or list(slugs.values())
        return passages_search(
            question=question.question,
            user=user,
            k=10,
            retriever=retriever,
            collections=collections,
        )

    report.update(
        retrievers_measure(
            questions=questions, retrievers=retrievers, search=search, progress=progress
        )
    )
    return report


def retrievers_measure(
    *,
    questions: list[EvalQuestion],
    retrievers: tuple[str, ...],
    search: Callable[[EvalQuestion, str], list[Passage]],
    progress: Progress | None = None,
) -> dict:
    """Each retriever's metrics and recall curve over ``questions``: ``search(question,
    retriever)`` returns the ranked passages, scored against the question's gold."""
    measured: dict = {"retrievers": {}, "recall_curve": {}}
    for retriever in retrievers:
        tally = RetrieverTally()
        for n, question in enumerate(questions, start=1):
            started = time.perf_counter()
            passages = search(question, retriever)
            latency_ms = (time.perf_counter() - started) * 1000
            hits = [_matches(question, p) for p in passages]
            tally.add(hits, len(question.gold_spans or question.gold_doc_ids), latency_ms)
            if progress and n % 25 == 0:
                progress(retriever, n, len(questions))
        measured["retrievers"][retriever] = tally.metrics()
        measured["recall_curve"][retriever] = tally.recall_curve()
    return measured


def recall_plot(*, report: dict, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for retriever, curve in report["recall_curve"].items():
        ax.plot(range(1, len(curve) + 1), curve, marker="o", label=retriever)
    ax.set_xlabel("k")
    ax.set_ylabel("recall@k")
    ax.set_title(f"{report['dataset']} ({report['split']}, {report['n_questions']} questions)")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def evaluation_run_record(*, kind: str, report: dict, plot_path: str = "") -> EvaluationRun:
    plot = Path(plot_path).read_bytes() if plot_path and Path(plot_path).is_file() else b""
    return EvaluationRun.objects.create(
        kind=kind,
        dataset=report["dataset"],
        split=report["split"],
        n_questions=report["n_questions"],
        report=report,
        plot_path=plot_path,
        plot_png=plot,
    )


def report_table(report: dict) -> str:
    keys = (
        "recall@1",
        "recall@5",
        "recall@10",
        "mrr@10",
        "ndcg@10",
        "latency_ms_p50",
        "latency_ms_p95",
    )
    lines = [f"{report['dataset']} / {report['split']}: {report['n_questions']} questions"]
    lines.append(f"{'retriever':<14}" + "".join(f"{k:>15}" for k in keys))
    for name, metrics in report["retrievers"].items():
        lines.append(f"{name:<14}" + "".join(f"{metrics[k]:>15}" for k in keys))
    return "\n".join(lines)
