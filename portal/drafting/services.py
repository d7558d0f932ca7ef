"""Writes for staff drafting: generate a draft, edit it in place, export it.

A draft is generated like an answer (portal/qa/pipeline.py), with the same parts: passages the
staff member may see (staff collections included), a prompt that fences them as untrusted data,
the configured generation backend, and every sentence verified against the passage it cites. A
sentence that fails is replaced by a verbatim quote of that passage or, with nothing to quote,
removed. Edited sentences are verified again and marked; nothing is ever silently "verified".
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import replace

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ingestion.embedding import load_embedder
from llm_backend.base import Backend, BackendError, GenerationRequest
from llm_backend.extractive import ExtractiveBackend
from llm_backend.grammars import citation_grammar
from portal.audit.services import audit_record
from portal.drafting.models import Draft, DraftStatus, DraftTemplate, SentenceState
from portal.drafting.prompts import build_draft_prompt
from portal.knowledge.retrieval import Passage, passages_search
from portal.knowledge.selectors import groups_mentioned
from portal.qa.backends import generation_backend
from portal.qa.facts import DOCUMENT_GROUP_TERMS
from portal.qa.pipeline import embed_for_verification, thresholds
from portal.qa.prompts import REFUSAL_TOKEN, language_of, trim_passage
from portal.qa.sentences import DraftSentence, SentenceStream, split_sentences
from portal.qa.verification import (
    PassageEvidence,
    SentenceCheck,
    quote_for,
    relevance,
    verify_or_recite,
    verify_sentence,
    without_title_prefix,
)
from portal.safety import services as safety
from portal.safety.pii import redact

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


def _check(
    text: str, labels: Iterable[str], evidence: dict[str, PassageEvidence], *, recite: bool = False
):
    """Verify one sentence. ``recite``: for the model's sentences, as in answers, a sentence
    that fails against its citation may cite another passage that supports it; a staff edit is
    checked against the passages its author chose."""
    verify = verify_or_recite if recite and settings.VERIFY_RECITE else verify_sentence
    return verify(
        text, tuple(labels), evidence, thresholds=thresholds(), embed=embed_for_verification()
    )


def _sentence(check: SentenceCheck, state: str, *, text: str | None = None) -> dict:
    detail = check.as_dict()
    detail.pop("text")
    return {
        "text": text if text is not None else check.text,
        "citations": list(check.labels) if text is None else [check.aligned_label],
        "state": state,
        # The words of the cited passage that carry the sentence: the footnote quotes them.
        "quote": text if text is not None else check.aligned_span,
        "check": detail,
    }


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


class _Generation:
    """One generation pass: stream, split, verify, quote or drop, guard."""

    def __init__(self, *, query: str, evidence: dict[str, PassageEvidence], language: str):
        self.query = query
        self.evidence = evidence
        self.language = language
        self.sentences: list[dict] = []
        self.removed = 0
        self.refused = False
        self.raw = ""

    def run(self, backend: Backend, request: GenerationRequest, max_sentences: int, canary: str):
        splitter = SentenceStream()
        stream = backend.stream(request)
        chunks: list[str] = []
        try:
            for delta in stream:
                chunks.append(delta)
                for drafted in splitter.feed(delta):
                    self._accept(drafted, canary)
                if len(self.sentences) >= max_sentences:
                    break
        except BackendError:
            # What was verified so far stands; the rest is missing, and the count says so.
            self.removed += 1
        finally:
            stream.close()
        for drafted in splitter.close():
            if len(self.sentences) < max_sentences:
                self._accept(drafted, canary)
        self.raw += "".join(chunks)

    def _accept(self, drafted: DraftSentence, canary: str) -> None:
        if drafted.text.strip().strip(".。") == REFUSAL_TOKEN:
            self.refused = True
            return
        cited = [self.evidence[lbl] for lbl in drafted.labels if lbl in self.evidence]
        drafted = replace(drafted, text=without_title_prefix(drafted.text, cited))
        if not drafted.text:
            return
        check = _check(drafted.text, drafted.labels, self.evidence, recite=True)
        if check.supported:
            item = _sentence(check, SentenceState.VERIFIED)
        else:
            label = check.aligned_label or next(
                (lbl for lbl in drafted.labels if lbl in self.evidence), None
            )
            quote = (
                quote_for(
                    self.query,
                    self.evidence[label],
                    exclude={s["text"] for s in self.sentences},
                )
                if label
                else None
            )
            if quote is None or not quote.rstrip().endswith(_SENTENCE_END):
                # A "sentence" without final punctuation is a heading or a fragment (plain-text
                # sources underline headings with dashes): it does not belong in a letter.
                self.removed += 1
                return
            item = _sentence(check, SentenceState.QUOTED, text=quote)
            item["citations"] = [label]
        if any(s["text"] == item["text"] for s in self.sentences):
            return
        verdict = safety.output_check(
            question=self.query,
            sentences=[(item["text"], item["citations"])],
            passages={lbl: ev.text for lbl, ev in self.evidence.items()},
            language=self.language,
            canary=canary,
        )
        if verdict.blocked_sentence_indexes:
            self.removed += 1
            return
        self.sentences.append(item)


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

    generation = _Generation(query=redacted, evidence=evidence, language=language)
    backend = generation_backend()
    if backend.kind == "extractive":
        backend = _quoting_backend(template.max_sentences)
    prompt_version = ""
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
        generation.run(backend, request, template.max_sentences, prompt.canary)
        if not generation.sentences and not generation.refused and backend.kind != "extractive":
            # Nothing the model wrote survived verification: quote the passages instead.
            backend = _quoting_backend(template.max_sentences)
            generation.run(backend, request, template.max_sentences, prompt.canary)
    timings["generate"] = round(time.perf_counter() - mark, 4)
    timings["total"] = round(time.perf_counter() - started, 4)

    status = DraftStatus.READY if generation.sentences else DraftStatus.NO_SUPPORT
    with transaction.atomic():
        draft = Draft.objects.create(
            template=template,
            author=user,
            title=(title.strip() or template.name(language))[:200],
            language=language,
            facts=redacted,
            collections=list(collections or []),
            status=status,
            sentences=generation.sentences,
            passages=passages,
            removed_sentences=generation.removed,
            backend=backend.kind,
            model_id=backend.model_id,
            prompt_version=prompt_version,
            draft_text=generation.raw,
            timings=timings,
        )
        audit_record(
            action="draft.create",
            user=user,
            object_type="draft",
            object_id=draft.pk,
            detail={
                "template": template.slug,
                "status": status,
                "sentences": len(generation.sentences),
                "removed": generation.removed,
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
            for piece in split_sentences(new_text):
                if not piece.text:
                    continue
                labels = [lbl for lbl in piece.labels if lbl in evidence] or old["citations"]
                check = _check(piece.text, labels, evidence)
                state = SentenceState.EDITED if check.supported else SentenceState.EDITED_UNVERIFIED
                item = _sentence(check, state)
                item["citations"] = list(labels)
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
