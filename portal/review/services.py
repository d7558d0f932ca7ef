"""Reviewer actions on held answers: approve, edit (re-verified before it is saved), reject.

Every action records a ReviewDecision (the training data of the fine-tuning loop) and an audit
event, and changes the answer's status in the same transaction, so the citizen's come-back link
shows the result as soon as the reviewer saves.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from portal.audit.services import audit_record
from portal.knowledge.models import Chunk
from portal.qa import guidance
from portal.qa.conf import verifier_config
from portal.qa.engine.claims import EDIT, ClaimPass
from portal.qa.engine.relevance import embed_texts
from portal.qa.models import Answer, AnswerStatus, Citation
from portal.qa.verify import PassageEvidence, Verdict
from portal.review.models import Decision, ReviewDecision
from portal.review.selectors import answer_passages


class ReviewError(Exception):
    """The action cannot be applied; the message says why, for the reviewer."""


@dataclass(frozen=True)
class EditResult:
    saved: bool
    checks: list[Verdict]


def _locked_held(answer_id: int) -> Answer:
    answer = Answer.objects.select_for_update().get(pk=answer_id)
    if answer.status != AnswerStatus.HELD:
        raise ReviewError(f"This answer is no longer waiting for review (it is {answer.status}).")
    return answer


def _record(answer: Answer, *, reviewer, decision: str, reason: str, **final) -> ReviewDecision:
    return ReviewDecision.objects.create(
        answer=answer,
        reviewer=reviewer,
        decision=decision,
        reason=reason,
        question=answer.question,
        language=answer.language,
        passages=answer_passages(answer),
        draft=answer.published_text,
        prompt_version=answer.prompt_version,
        model_id=answer.model_id,
        adapter_id=answer.adapter_id,
        **final,
    )


def _settle_repeats(answer: Answer) -> int:
    """Give every repeat still waiting on ``answer`` the same outcome: its status, text and
    citations become the original's, so each asker's come-back link shows the decision."""
    repeats = list(answer.repeats.select_for_update().filter(status=AnswerStatus.HELD))
    citations = list(answer.citations.all())
    for repeat in repeats:
        repeat.status = answer.status
        repeat.sentences = answer.sentences
        repeat.published_text = answer.published_text
        repeat.guidance = answer.guidance
        repeat.published_at = answer.published_at
        repeat.save(
            update_fields=["status", "sentences", "published_text", "guidance", "published_at"]
        )
        repeat.citations.all().delete()
        Citation.objects.bulk_create(
            [
                Citation(**{f.attname: getattr(c, f.attname) for f in Citation._meta.concrete_fields
                            if f.name not in ("id", "answer")}, answer=repeat)
                for c in citations
            ]
        )  # fmt: skip
    return len(repeats)


def review_approve(*, answer: Answer, reviewer, request=None) -> ReviewDecision:
    with transaction.atomic():
        answer = _locked_held(answer.pk)
        decision = _record(
            answer,
            reviewer=reviewer,
            decision=Decision.APPROVE,
            reason="",
            final_text=answer.published_text,
            final_sentences=answer.sentences,
        )
        answer.status = AnswerStatus.ANSWERED
        answer.published_at = timezone.now()
        answer.save(update_fields=["status", "published_at"])
        _settle_repeats(answer)
        _audit(request, reviewer, answer, "approve")
    return decision


def review_reject(*, answer: Answer, reviewer, reason: str, request=None) -> ReviewDecision:
    if not reason.strip():
        raise ReviewError("Say why the answer is rejected: the reason is kept for training.")
    with transaction.atomic():
        answer = _locked_held(answer.pk)
        decision = _record(answer, reviewer=reviewer, decision=Decision.REJECT, reason=reason)
        answer.status = AnswerStatus.REJECTED
        answer.guidance = guidance.no_support(
            [], language=answer.language, question=answer.question
        )
        answer.save(update_fields=["status", "guidance"])
        _settle_repeats(answer)
        _audit(request, reviewer, answer, "reject")
    return decision


def review_edit(
    *, answer: Answer, reviewer, text: str, reason: str = "", request=None
) -> EditResult:
    """Re-verify the edited text sentence by sentence against the answer's passages; save and
    publish only when every sentence cites a passage that supports it."""
    passages = answer_passages(answer)
    evidence = {
        p["label"]: PassageEvidence.of(
            p["label"],
            p["text"],
            frozenset(p.get("implied", ())),
            document_title=p.get("title", ""),
        )
        for p in passages
    }
    # The same loop as answers and drafts, under the EDIT policy: title stripping and the output
    # guard apply to a reviewer's words as to the model's; nothing is swapped for a quote.
    claims = ClaimPass(
        question=answer.question,
        evidence=evidence,
        language=answer.language,
        policy=EDIT,
        verifier=verifier_config(),
        embed=embed_texts,
    )
    checks = claims.check_text(text)
    if not checks:
        raise ReviewError("The edited answer is empty.")
    if not all(c.supported for c in checks) or len(claims.published) != len(checks):
        return EditResult(saved=False, checks=checks)
    sentences = [{"text": c.text, "citations": list(c.labels), "quoted": False} for c in checks]
    final_text = " ".join(
        s["text"] + "".join(f" [{label}]" for label in s["citations"]) for s in sentences
    )
    with transaction.atomic():
        answer = _locked_held(answer.pk)
        _record(
            answer,
            reviewer=reviewer,
            decision=Decision.EDIT,
            reason=reason,
            final_text=final_text,
            final_sentences=sentences,
            verification=[c.as_dict() for c in checks],
        )
        _citations_ensure(answer, {label for s in sentences for label in s["citations"]}, passages)
        answer.sentences = sentences
        answer.published_text = final_text
        answer.status = AnswerStatus.ANSWERED
        answer.published_at = timezone.now()
        answer.save(update_fields=["sentences", "published_text", "status", "published_at"])
        _settle_repeats(answer)
        _audit(request, reviewer, answer, "edit")
    return EditResult(saved=True, checks=checks)


def _citations_ensure(answer: Answer, labels: set[str], passages: list[dict]) -> None:
    """An edit may cite a prompted passage the draft did not: give it a citation row too."""
    existing = set(answer.citations.values_list("label", flat=True))
    by_label = {p["label"]: p for p in passages}
    missing = [by_label[label] for label in sorted(labels - existing) if label in by_label]
    chunks = {
        c.pk: c
        for c in Chunk.objects.filter(pk__in=[p["chunk_id"] for p in missing]).select_related(
            "version__document__collection"
        )
    }
    for passage in missing:
        chunk = chunks.get(passage["chunk_id"])
        if chunk is None:
            continue
        Citation.objects.create(
            answer=answer,
            label=passage["label"],
            chunk=chunk,
            document_version=chunk.version,
            document_id_snapshot=chunk.version.document_id,
            document_title=chunk.version.document.title,
            collection=chunk.version.document.collection.name,
            version_number=chunk.version.number,
            section=chunk.heading_path,
            page_start=chunk.page_start,
            page_end=chunk.page_end,
            effective_from=chunk.version.effective_from.isoformat(),
            quote=chunk.evidence_text,
        )


def _audit(request, reviewer, answer: Answer, action: str) -> None:
    audit_record(
        request=request,
        user=reviewer,
        action=f"review.{action}",
        object_type="answer",
        object_id=answer.pk,
        detail={"status": answer.status},
    )
