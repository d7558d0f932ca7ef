"""Writes for staff drafting: generate a draft, edit it in place, export it.

A draft is generated like an answer (portal/qa/engine/), with the same parts: passages the
staff member may see (staff collections included), a prompt that fences them as untrusted data,
the configured generation backend, and every sentence verified against the passage it cites. A
sentence that fails is replaced by a verbatim quote of that passage or, with nothing to quote,
removed: the same ``ClaimPass`` as answers, under the ``DRAFT`` policy. Edited sentences are
verified again under the ``EDIT`` policy and marked; nothing is ever silently "verified".
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import replace

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ingestion.embedding import load_embedder
from llm_backend.base import Backend, GenerationRequest
from llm_backend.extractive import ExtractiveBackend
from llm_backend.grammars import citation_grammar
from portal.audit.services import audit_record
from portal.drafting.models import Draft, DraftStatus, DraftTemplate, SentenceState
from portal.drafting.prompts import build_draft_prompt
from portal.knowledge.retrieval import Passage, passages_search
from portal.knowledge.selectors import groups_mentioned
from portal.qa.backends import generation_backend
from portal.qa.conf import verifier_config
from portal.qa.engine.claims import DRAFT, EDIT, ClaimPass
from portal.qa.engine.relevance import embed_texts
from portal.qa.prompts import trim_passage
from portal.qa.verify import DOCUMENT_GROUP_TERMS, PassageEvidence, Verdict, relevance
from portal.safety.pii import redact
from textkit import language_of

_SENTENCE_END = (".", "。", "!", "！", "?", "？", ";", "；", ")", "）", '"', "”")


class DraftError(Exception):
    """The request cannot be carried out; the message says why, for the staff member."""


def _passage_snapshot(label: str, passage: Passage) -> dict:
    return {
        "label": label,
        "chunk_id": passage.chunk_id,
        "document_id": passage.document_id,
        "document_title": passage.document_title,
        "collection": passage.collection,
        "version": passage.version,
        "section": list(passage.heading_path),
        "page": passage.page_start,
        "effective_from": passage.effective_from,
        "text": passage.text,
    }


def _evidence(passages: Iterable[dict]) -> dict[str, PassageEvidence]:
    passages = list(passages)
    # The groups each document is about, as the answer pipeline reads them (a case record's
    # patient); snapshots taken before document ids were stored have none.
    implied = groups_mentioned(
        versions={(p["document_id"], p["version"]) for p in passages if p.get("document_id")},
        terms=DOCUMENT_GROUP_TERMS,
    )
    evidence = {}
    for p in passages:
        groups = implied.get((p.get("document_id"), p.get("version"))) or frozenset()
        evidence[p["label"]] = PassageEvidence.of(
            p["label"], p["text"], groups, document_title=p.get("document_title", "")
        )
    return evidence


def _sentence(verdict: Verdict, state: str, *, text: str | None = None) -> dict:
    detail = verdict.as_dict()
    detail.pop("text")
    return {
        "text": text if text is not None else verdict.text,
        "citations": list(verdict.labels) if text is None else [verdict.aligned_label],
        "state": state,
        # The words of the cited passage that carry the sentence: the footnote quotes them.
        "quote": text if text is not None else verdict.aligned_span,
        "check": detail,
    }


def _draft_sentences(claims: ClaimPass) -> list[dict]:
    out = []
    for item in claims.published:
        if item.quoted:
            row = _sentence(item.verdict, SentenceState.QUOTED, text=item.text)
            row["citations"] = list(item.citations)
        else:
            row = _sentence(item.verdict, SentenceState.VERIFIED)
        out.append(row)
    return out


def _claims(*, query: str, evidence: dict, language: str, policy, canary: str = "") -> ClaimPass:
    return ClaimPass(
        question=query,
        evidence=evidence,
        language=language,
        policy=policy,
        verifier=verifier_config(),
        embed=embed_texts,
        canary=canary,
        quote_min_overlap=settings.DRAFT_QUOTE_MIN_OVERLAP,
    )


def _relevant(query: str, found: list[Passage]) -> list[Passage]:
    """The passages that bear on the case, best first.

    Retrieval always returns its top k, related or not; drafting from an unrelated passage
    would produce a verified but pointless letter. A passage stays when enough of the facts'
    content is in it, or (across languages, where words cannot overlap) its embedding is close.
    """
    if not found:
        return []
    vectors = load_embedder(settings.EMBEDDING_MODEL).embed([query] + [p.text for p in found])
    keep = []
    for passage, vector in zip(found, vectors[1:], strict=True):
        lexical = relevance(query, PassageEvidence.of("", passage.text))
        if (
            lexical >= settings.DRAFT_MIN_LEXICAL_RELEVANCE
            or float(vectors[0] @ vector) >= settings.DRAFT_MIN_DENSE_RELEVANCE
        ):
            keep.append(passage)
    return keep[: settings.DRAFT_PROMPT_PASSAGES]


def _quoting_backend(max_sentences: int) -> Backend:
    # The facts of a case are longer and wordier than a question ("Mr Zhang, 40, asks whether
    # ..."), so a passage sentence covers a smaller share of them: the quoting backend gets its
    # own, lower coverage floor. Stateless and cheap to build per draft.
    return ExtractiveBackend(
        max_sentences=max_sentences,
        min_coverage=settings.DRAFT_EXTRACTIVE_MIN_COVERAGE,
        relative_min=0.4,
    )


def draft_create(
    *,
    template: DraftTemplate,
    facts: str,
    user,
    collections: list[str] | None = None,
    title: str = "",
    language: str | None = None,
) -> Draft:
    """Generate and save a draft of ``template`` for the facts of a case.

    The facts are redacted before anything else sees them (retrieval, the model, the database,
    the audit trail). Retrieval runs as ``user``: staff collections are included for staff, and
    nobody drafts from a collection they could not read.
    """
    if not template.active:
        raise DraftError("This template is no longer offered.")
    facts = facts.strip()[: settings.DRAFT_FACTS_MAX_CHARS]
    if not facts:
        raise DraftError("Describe the case: the draft is written for its facts.")
    started = time.perf_counter()
    timings: dict[str, float] = {}
    language = language if language in ("en", "zh") else language_of(facts)
    redacted = redact(facts, language=language)
    timings["redact"] = round(time.perf_counter() - started, 4)

    mark = time.perf_counter()
    found = _relevant(
        redacted,
        passages_search(
            question=redacted,
            user=user,
            k=settings.DRAFT_PASSAGES,
            collections=[c for c in (collections or []) if c][:10] or None,
        ),
    )
    timings["retrieve"] = round(time.perf_counter() - mark, 4)
    passages = [_passage_snapshot(str(i), p) for i, p in enumerate(found, start=1)]
    evidence = _evidence(passages)

    backend = generation_backend()
    if backend.kind == "extractive":
        backend = _quoting_backend(template.max_sentences)
    policy = replace(DRAFT, max_sentences=template.max_sentences)
    claims = _claims(query=redacted, evidence=evidence, language=language, policy=policy)
    prompt_version, raw, prompt_tokens, completion_tokens = "", "", 0, 0
    mark = time.perf_counter()
    if passages:
        prompt = build_draft_prompt(
            kind=template.name(language),
            instructions=template.instructions(language),
            facts=redacted,
            passages=[
                (
                    p["label"],
                    p["document_title"],
                    trim_passage(
                        redacted,
                        evidence[p["label"]],
                        max_chars=settings.DRAFT_PASSAGE_MAX_CHARS,
                    ),
                )
                for p in passages
            ],
            language=language,
            max_sentences=template.max_sentences,
        )
        prompt_version = prompt.version
        claims.canary = prompt.canary
        labels = [p["label"] for p in passages]
        request = GenerationRequest(
            messages=prompt.messages,
            max_tokens=settings.DRAFT_MAX_TOKENS,
            temperature=0.0,
            grammar=(
                citation_grammar(labels, template.max_sentences, latin_only=language == "en")
                if settings.ANSWER_GRAMMAR
                else None
            ),
            question=redacted,
            passages=tuple((label, evidence[label].text) for label in labels),
            language=language,
        )
        backends = [backend]
        if backend.kind != "extractive":
            # Nothing the model wrote survived verification: quote the passages instead.
            backends.append(_quoting_backend(template.max_sentences))
        for used in backends:
            if claims.published or claims.model_refused:
                break
            backend = used
            for _ in claims.generate(used, request):
                pass
            raw += claims.draft
            prompt_tokens += claims.usage.prompt_tokens
            completion_tokens += claims.usage.completion_tokens
    timings["generate"] = round(time.perf_counter() - mark, 4)
    timings["verify"] = round(claims.verify_s, 4)
    timings["total"] = round(time.perf_counter() - started, 4)

    sentences = _draft_sentences(claims)
    status = DraftStatus.READY if sentences else DraftStatus.NO_SUPPORT
    with transaction.atomic():
        draft = Draft.objects.create(
            template=template,
            author=user,
            title=(title.strip() or template.name(language))[:200],
            language=language,
            facts=redacted,
            collections=list(collections or []),
            status=status,
            sentences=sentences,
            passages=passages,
            removed_sentences=claims.removed,
            backend=backend.kind,
            model_id=backend.model_id,
            prompt_version=prompt_version,
            draft_text=raw,
            timings=timings,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
        )
        audit_record(
            action="draft.create",
            user=user,
            object_type="draft",
            object_id=draft.pk,
            detail={
                "template": template.slug,
                "status": status,
                "sentences": len(sentences),
                "removed": claims.removed,
                "passages": len(passages),
                "backend": backend.kind,
            },
        )
    return draft


def draft_edit(*, draft: Draft, edits: dict[int, str], user) -> Draft:
    """Apply staff edits to body sentences (index -> new text; empty text deletes it).

    Each edited sentence is verified again against the draft's passages. Citation markers in
    the new text ("... [2]") choose the passages; without markers it keeps its old citations.
    Text that splits into several sentences becomes several, each verified on its own.
    """
    evidence = _evidence(draft.passages)
    with transaction.atomic():
        draft = Draft.objects.select_for_update().get(pk=draft.pk)
        sentences = list(draft.sentences)
        changed = 0
        for index in sorted(edits, reverse=True):  # from the end: splits shift later indexes
            if not 0 <= index < len(sentences):
                raise DraftError(f"The draft has no sentence {index + 1}.")
            old = sentences[index]
            new_text = edits[index].strip()
            if new_text == sentence_with_markers(old) or new_text == old["text"]:
                continue
            changed += 1
            replacement = []
            claims = _claims(
                query=draft.facts, evidence=evidence, language=draft.language, policy=EDIT
            )
            for verdict in claims.check_text(new_text, default_labels=old["citations"]):
                state = (
                    SentenceState.EDITED if verdict.supported else SentenceState.EDITED_UNVERIFIED
                )
                item = _sentence(verdict, state)
                item["citations"] = list(verdict.labels)
                replacement.append(item)
            sentences[index : index + 1] = replacement
        if not changed:
            return draft
        draft.sentences = sentences
        draft.status = DraftStatus.READY if sentences else DraftStatus.NO_SUPPORT
        draft.save(update_fields=["sentences", "status", "updated_at"])
        audit_record(
            action="draft.edit",
            user=user,
            object_type="draft",
            object_id=draft.pk,
            detail={
                "edited": changed,
                "sentences": len(sentences),
                "unverified": draft.unverified_count,
            },
        )
    return draft


def sentence_with_markers(sentence: dict) -> str:
    """A sentence as staff edit it: its text followed by its citation markers."""
    return sentence["text"] + "".join(f" [{label}]" for label in sentence["citations"])


def draft_export(*, draft: Draft, user) -> bytes:
    """The draft as a DOCX (citations as footnotes, the AI-generated label in the document's
    properties and on its first page). Recorded in the audit trail."""
    from portal.drafting.docx import draft_docx

    data = draft_docx(draft, author=user.get_username())
    with transaction.atomic():
        Draft.objects.filter(pk=draft.pk).update(exported_at=timezone.now())
        audit_record(
            action="draft.export",
            user=user,
            object_type="draft",
            object_id=draft.pk,
            detail={
                "format": "docx",
                "bytes": len(data),
                "unverified": draft.unverified_count,
            },
        )
    return data
