"""The answer pipeline: guard -> retrieve -> prompt -> generate -> verify -> review -> publish.

``answer_stream`` runs the steps and yields events as they happen, so the portal can show each
verified sentence as soon as it is accepted; ``answer_run`` runs the same steps to the end (the API,
``manage.py ask``, evaluations). A sentence is released only after it passed verification and the
output guard, so a reader never sees a sentence that later fails. Every step is timed and the whole
record is stored on the Answer row.

Event shapes (also the server-sent-event payloads):
  {"event": "start", "answer_id": ..., "language": ...}
  {"event": "notice", "kind": "emergency", "text": ...}
  {"event": "sentence", "index": n, "text": ..., "citations": [labels], "quoted": bool}
  {"event": "done", "status": answered|refused|held, "refusal_reason": ..., "guidance": ...,
   "citations": {label: {...}}, "answer_id": ...}
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import numpy as np
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.utils import timezone

from ingestion.embedding import load_embedder
from llm_backend.base import Backend, BackendError, GenerationRequest
from llm_backend.grammars import citation_grammar
from portal.accounts.selectors import user_role
from portal.knowledge.indexing import keyword_index_loaded
from portal.knowledge.models import Chunk, KeywordIndex, VectorIndex
from portal.knowledge.retrieval import Passage, passages_search
from portal.knowledge.selectors import groups_mentioned
from portal.qa import answerability, guidance
from portal.qa.backends import extractive_backend, generation_backend
from portal.qa.facts import DOCUMENT_GROUP_TERMS
from portal.qa.models import Answer, AnswerStatus, Citation, RefusalReason
from portal.qa.prompts import REFUSAL_TOKEN, build_prompt, language_of, trim_passage
from portal.qa.sentences import DraftSentence, SentenceStream
from portal.qa.verification import (
    PassageEvidence,
    SentenceCheck,
    Thresholds,
    quote_for,
    relevance,
    restates_question,
    verify_or_recite,
    verify_sentence,
    without_title_prefix,
)
from portal.safety import services as safety

logger = logging.getLogger(__name__)
MAX_QUESTION_CHARS = 1000


@dataclass
class AnswerOutcome:
    answer: Answer
    status: str
    refusal_reason: str | None
    sentences: list[dict]
    citations: dict[str, dict]
    guidance: str
    emergency_notice: str
    events: list[dict] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.answer.published_text


def thresholds() -> Thresholds:
    return Thresholds(
        min_support=settings.VERIFY_MIN_SUPPORT,
        min_lexical=settings.VERIFY_MIN_LEXICAL,
        embedding_weight=settings.VERIFY_EMBEDDING_WEIGHT,
        min_crosslingual=settings.VERIFY_MIN_CROSSLINGUAL,
        crosslingual=settings.VERIFY_CROSSLINGUAL,
        novel_allowance_min_words=settings.VERIFY_NOVEL_MIN_WORDS,
        novel_allowance_min_semantic=settings.VERIFY_NOVEL_MIN_SEMANTIC,
        min_semantic=settings.VERIFY_MIN_SEMANTIC,
    )


def _embed(texts: list[str]) -> np.ndarray:
    return load_embedder(settings.EMBEDDING_MODEL).embed(texts)


def embed_for_verification():
    """The embedder the verifier uses, or None when it needs none (lexical evidence only)."""
    wanted = settings.VERIFY_EMBEDDING_WEIGHT > 0 or settings.VERIFY_CROSSLINGUAL
    return _embed if wanted else None


def index_version() -> str:
    dense = VectorIndex.objects.filter(model=settings.EMBEDDING_MODEL).values_list(
        "version", flat=True
    )
    keyword = KeywordIndex.objects.values_list("version", flat=True)
    return f"{settings.EMBEDDING_MODEL}@v{next(iter(dense), 0)};bm25@v{next(iter(keyword), 0)}"


def citation_payload(citation: Citation) -> dict:
    return {
        "label": citation.label,
        "document": citation.document_title,
        "document_id": citation.document_id_snapshot,
        "collection": citation.collection,
        "version": citation.version_number,
        "section": citation.section,
        "page": citation.page_start,
        "effective_from": citation.effective_from,
        "quote": citation.quote,
    }


class _Run:
    """One question's trip through the pipeline; holds the state the steps share."""

    def __init__(self, *, question: str, user, collections, language, retriever) -> None:
        self.raw_question = question.strip()[:MAX_QUESTION_CHARS]
        self.user = user
        self.collections = collections or []
        self.requested_language = language
        self.retriever = retriever
        self.timings: dict[str, float] = {}
        self.published: list[dict] = []
        self.checks: list[SentenceCheck] = []
        self.fallback_from: int | None = None  # checks from here on judged the quoting fallback
        # Per drafted sentence of the current generation pass: verified, or replaced by a quote
        # (both leave only supported text); routing holds answers where too few were.
        self.resolved: list[bool] = []
        self.evidence: dict[str, PassageEvidence] = {}
        self.passages: dict[str, Passage] = {}
        self.model_refused = False
        self.answer: Answer | None = None
        self.started = time.perf_counter()

    @contextmanager
    def step(self, name: str):
        started = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = round(
                self.timings.get(name, 0.0) + time.perf_counter() - started, 4
            )

    # -- the steps -------------------------------------------------------------------------------

    def events(self) -> Iterator[dict]:
        with self.step("guard_input"):
            checked = safety.input_check(self.raw_question, language=self.requested_language)
        self.language = (
            self.requested_language or checked.language or language_of(self.raw_question)
        )
        self.question = checked.redacted_text
        self.answer = Answer.objects.create(
            asked_by=self.user if getattr(self.user, "is_authenticated", False) else None,
            asker_role=user_role(self.user) if self.user is not None else "system",
            question=self.question,
            language=self.language,
            collections=self.collections,
            guard={"input": _guard_json(checked)},
        )
        yield {"event": "start", "answer_id": str(self.answer.public_id), "language": self.language}
        notice = safety.emergency_notice(self.raw_question, language=self.language)
        if notice:
            self.answer.emergency_notice = notice
            yield {"event": "notice", "kind": "emergency", "text": notice}
        if checked.action == "refuse":
            yield self._finish_refused(checked.refusal_reason or "unsafe", checked.guidance)
            return

        with self.step("retrieve"):
            found = passages_search(
                question=self.question,
                user=self.user,
                k=settings.ANSWER_PASSAGES,
                collections=self.collections or None,
                retriever=self.retriever,
            )
        with self.step("relevance"):
            # The groups each document is about though not every passage names them: a case
            # record names its patient in one section (facts.DOCUMENT_GROUPS).
            implied = groups_mentioned(
                versions={(p.document_id, p.version) for p in found}, terms=DOCUMENT_GROUP_TERMS
            )
            relevant = self._relevant(found, implied)
        if not relevant:
            yield self._finish_refused(
                RefusalReason.NO_SUPPORT, guidance.no_support(found, language=self.language)
            )
            return
        for number, passage in enumerate(relevant, start=1):
            label = str(number)
            self.passages[label] = passage
            groups = implied.get((passage.document_id, passage.version), frozenset())
            self.evidence[label] = PassageEvidence.of(
                label, passage.text, groups, document_title=passage.document_title
            )

        backend = generation_backend()
        yield from self._generate(backend)
        if not self.published and backend.kind != "extractive" and not self.model_refused:
            # Nothing the model wrote survived verification: quote the passages instead.
            yield from self._generate(extractive_backend(), fallback=True)
        yield self._finish(checked, relevant=relevant)

    def _relevant(
        self, found: list[Passage], implied: dict[tuple[int, int], frozenset[str]]
    ) -> list[Passage]:
        """The passages worth prompting with, or none when nothing bears on the question.

        A document clears the gate when one of its passages is close to the question (enough
        of its content words, or a close enough embedding) and its retrieved passages together,
        with its title and headings, cover enough of the question's rare terms
        (``answerability``); across languages, where words cannot overlap, the embedding alone
        decides. Other passages of the documents that clear the gate join above a lower floor,
        because an answer often spans two passages.
        """
        if not found:
            return []
        vectors = _embed([self.question] + [p.text for p in found])
        weights = answerability.term_weights(self.question, keyword_index_loaded())
        scored = []
        for passage, vector in zip(found, vectors[1:], strict=True):
            lexical = relevance(self.question, PassageEvidence.of("", passage.text))
            scored.append((passage, lexical, float(vectors[0] @ vector)))

        # What a document's retrieved passages say together, under its title and headings: a
        # question often asks about two sections of one document ("the mastitis case's blood
        # count and ultrasound"), and "辅助检查: 血常规 ..." answers it because its document is
        # that case.
        # The groups a document is about count as named too: a record that calls its subject
        # 病人 answers a question about 患者.
        context: dict[int, list[str]] = {}
        for passage in found:
            parts = context.setdefault(passage.document_id, [passage.document_title])
            parts.extend((*passage.heading_path, passage.text))
            for group in implied.get((passage.document_id, passage.version), ()):
                parts.extend(DOCUMENT_GROUP_TERMS[group])
        covered = {
            document_id: weights.coverage(" ".join(parts)) for document_id, parts in context.items()
        }

        def answers(passage: Passage, lexical: float, dense: float) -> bool:
            if passage.language and passage.language != self.language:
                return dense >= settings.ANSWER_MIN_DENSE_RELEVANCE
            coverage = covered[passage.document_id]
            close = (
                lexical >= settings.ANSWER_MIN_LEXICAL_RELEVANCE
                or dense >= settings.ANSWER_MIN_DENSE_RELEVANCE
            )
            # A question in two parts is close to no single passage; a document that covers
            # most of its rare terms answers it anyway.
            return (
                close and coverage >= settings.ANSWER_MIN_QUESTION_COVERAGE
            ) or coverage >= settings.ANSWER_SOLE_QUESTION_COVERAGE

        # Only documents that themselves bear on the question join the prompt: a near-topic
        # document (another study, another benefit) would be cited for what it says about its
        # own subject. On PubMedQA dev this raised the gold share of prompted passages from 0.74
        # to 0.95.
        documents = {
            passage.document_id for passage, *scores in scored if answers(passage, *scores)
        }
        if not documents:
            return []
        keep = [
            passage
            for passage, lexical, dense in scored
            if passage.document_id in documents
            and (
                lexical >= settings.ANSWER_KEEP_LEXICAL_RELEVANCE
                or dense >= settings.ANSWER_KEEP_DENSE_RELEVANCE
            )
        ]
        return keep[: settings.ANSWER_PROMPT_PASSAGES]

    def _is_fallback(self, index: int) -> bool:
        return self.fallback_from is not None and index >= self.fallback_from

    def _generate(self, backend: Backend, *, fallback: bool = False) -> Iterator[dict]:
        step = "generate_fallback" if fallback else "generate"
        with self.step("prompt"):
            prompt = build_prompt(
                question=self.question,
                passages=[
                    (
                        label,
                        self.passages[label].document_title,
                        trim_passage(
                            self.question, ev, max_chars=settings.ANSWER_PASSAGE_MAX_CHARS
                        ),
                    )
                    for label, ev in self.evidence.items()
                ],
                language=self.language,
                max_sentences=settings.ANSWER_MAX_SENTENCES,
            )
        self.canary = prompt.canary
        labels = list(self.evidence)
        request = GenerationRequest(
            messages=prompt.messages,
            max_tokens=settings.ANSWER_MAX_TOKENS,
            temperature=0.0,
            grammar=(
                citation_grammar(
                    labels, settings.ANSWER_MAX_SENTENCES, latin_only=self.language == "en"
                )
                if settings.ANSWER_GRAMMAR
                else None
            ),
            question=self.question,
            passages=tuple((label, ev.text) for label, ev in self.evidence.items()),
            language=self.language,
        )
        if fallback:
            self.fallback_from = len(self.checks)
            # Keep the model that drafted on record; note that quotes replaced its draft.
            self.answer.backend = f"{self.answer.backend}+{backend.kind}"[:40]
        else:
            self.answer.backend = backend.kind
            self.answer.model_id = backend.model_id
            self.answer.adapter_id = backend.adapter_id or ""
        self.answer.prompt_version = prompt.version
        splitter = SentenceStream()
        self.resolved = []  # a fallback pass is judged on its own
        draft: list[str] = []
        started = time.perf_counter()
        stream = backend.stream(request)
        try:
            for delta in stream:
                draft.append(delta)
                for sentence in splitter.feed(delta):
                    yield from self._accept(sentence)
                if len(self.published) >= settings.ANSWER_MAX_SENTENCES:
                    break
        except BackendError as exc:
            logger.error("generation failed (%s): %s", backend.kind, exc)
        finally:
            stream.close()
        for sentence in splitter.close():
            if len(self.published) < settings.ANSWER_MAX_SENTENCES:
                yield from self._accept(sentence)
        self.timings[step] = round(time.perf_counter() - started, 4)
        usage = stream.usage
        self.answer.prompt_tokens += usage.prompt_tokens
        self.answer.completion_tokens += usage.completion_tokens
        if usage.first_token_s is not None:
            self.timings.setdefault("first_token", round(usage.first_token_s, 4))
        self.answer.draft += ("\n--- extractive fallback ---\n" if fallback else "") + "".join(
            draft
        )

    def _accept(self, sentence: DraftSentence) -> Iterator[dict]:
        if sentence.text.strip().strip(".。") == REFUSAL_TOKEN:
            self.model_refused = True
            return
        cited = [self.evidence[lbl] for lbl in sentence.labels if lbl in self.evidence]
        sentence = replace(sentence, text=without_title_prefix(sentence.text, cited))
        with self.step("verify"):
            verify = verify_or_recite if settings.VERIFY_RECITE else verify_sentence
            check = verify(
                sentence.text,
                sentence.labels,
                self.evidence,
                thresholds=thresholds(),
                embed=embed_for_verification(),
            )
            if (
                check.supported
                and self.fallback_from is None
                and self.answer.backend != "extractive"
                and restates_question(
                    check.text, self.question, [self.evidence[lbl] for lbl in check.labels]
                )
            ):
                # Supported, but no answer: the model echoed the question (and a title). Only
                # supported echoes: an unsupported one may be a wrong answer in the question's
                # words ("No, you do not need to bring the title when ...", doc2dial dev), which
                # must keep counting against the draft.
                check = replace(
                    check,
                    supported=False,
                    trivial=True,
                    problems=("restates the question without answering it",),
                )
        self.checks.append(check)
        self.resolved.append(check.supported or check.trivial)
        text, labels, quoted = sentence.text, list(check.labels), False
        if not check.supported:
            label = check.aligned_label or next(
                (lbl for lbl in sentence.labels if lbl in self.evidence), None
            )
            quote = (
                quote_for(
                    self.question,
                    self.evidence[label],
                    exclude={p["text"] for p in self.published},
                    min_overlap=settings.ANSWER_QUOTE_MIN_OVERLAP,
                )
                if label
                else None
            )
            if quote is None:
                return
            text, labels, quoted = quote, [label], True
            self.resolved[-1] = True
        if any(p["text"] == text for p in self.published):
            return
        with self.step("guard_output"):
            verdict = safety.output_check(
                question=self.raw_question,
                sentences=[(text, labels)],
                passages={lbl: ev.text for lbl, ev in self.evidence.items()},
                language=self.language,
                canary=self.canary,
            )
        if verdict.blocked_sentence_indexes:
            self.checks[-1] = _blocked(check, verdict)
            self.resolved[-1] = False
            return
        item = {"text": text, "citations": labels, "quoted": quoted}
        self.published.append(item)
        if len(self.published) == 1:
            self.timings["first_sentence"] = round(time.perf_counter() - self.started, 4)
        yield {"event": "sentence", "index": len(self.published) - 1, **item}

    # -- endings ---------------------------------------------------------------------------------

    def _finish(self, checked, *, relevant: list[Passage]) -> dict:
        if not self.published:
            return self._finish_refused(
                RefusalReason.NO_SUPPORT, guidance.no_support(relevant, language=self.language)
            )
        with self.step("guard_output"):
            verdict = safety.output_check(
                question=self.raw_question,
                sentences=[(p["text"], p["citations"]) for p in self.published],
                passages={lbl: ev.text for lbl, ev in self.evidence.items()},
                language=self.language,
                canary=self.canary,
            )
        decision = safety.route(checked, verdict, _verification_summary(self.resolved))
        self.answer.guard["output"] = _guard_json(verdict)
        self.answer.guard["route"] = {
            "action": decision.action,
            "reasons": [r.__dict__ for r in decision.reasons],
        }
        if decision.action == "refuse":
            return self._finish_refused(
                decision.refusal_reason or RefusalReason.UNSAFE,
                guidance.refused(decision.refusal_reason, language=self.language),
            )
        status = AnswerStatus.HELD if decision.action == "hold" else AnswerStatus.ANSWERED
        caution = (
            guidance.caution(language=self.language)
            if decision.action == "publish_with_caution"
            else ""
        )
        return self._save(status=status, reason="held" if status == "held" else "", text=caution)

    def _finish_refused(self, reason: str, text: str) -> dict:
        self.published = []
        return self._save(status=AnswerStatus.REFUSED, reason=str(reason), text=text)

    def _save(self, *, status: str, reason: str, text: str) -> dict:
        answer = self.answer
        answer.status = status
        answer.refusal_reason = reason
        answer.guidance = text
        answer.sentences = self.published
        answer.published_text = _published_text(self.published)
        # Fallback quotes are marked, so a draft's quality is never judged on the quotes that
        # replaced it (evaluation's before-verification figures read the model's sentences only).
        answer.verification = [
            c.as_dict() | ({"fallback": True} if self._is_fallback(i) else {})
            for i, c in enumerate(self.checks)
        ]
        answer.retrieved = [
            {
                "label": label,
                "chunk_id": p.chunk_id,
                "score": round(p.score, 4),
                "document_id": p.document_id,
                "version": p.version,
            }
            for label, p in self.passages.items()
        ]
        answer.index_version = index_version()
        self.timings["total"] = round(time.perf_counter() - self.started, 4)
        answer.timings = self.timings
        if status == AnswerStatus.ANSWERED:
            answer.published_at = timezone.now()
        cited = {lbl for p in self.published for lbl in p["citations"]}
        with transaction.atomic():
            answer.save()
            citations = _citations_create(answer, {lbl: self.passages[lbl] for lbl in cited})
        public = status == AnswerStatus.ANSWERED
        return {
            "event": "done",
            "answer_id": str(answer.public_id),
            "status": status,
            "refusal_reason": reason or None,
            "guidance": text,
            "sentences": self.published if public else [],
            "citations": {c.label: citation_payload(c) for c in citations} if public else {},
        }


def _published_text(sentences: list[dict]) -> str:
    return " ".join(s["text"] + "".join(f" [{c}]" for c in s["citations"]) for s in sentences)


def _citations_create(answer: Answer, passages: dict[str, Passage]) -> list[Citation]:
    chunks = {
        c.pk: c
        for c in Chunk.objects.filter(
            pk__in=[p.chunk_id for p in passages.values()]
        ).select_related("version")
    }
    rows = []
    for label, passage in sorted(passages.items()):
        chunk = chunks.get(passage.chunk_id)
        rows.append(
            Citation(
                answer=answer,
                label=label,
                chunk=chunk,
                document_version=chunk.version if chunk else None,
                document_id_snapshot=passage.document_id,
                document_title=passage.document_title,
                collection=passage.collection,
                version_number=passage.version,
                section=list(passage.heading_path),
                page_start=passage.page_start,
                page_end=passage.page_end,
                effective_from=passage.effective_from,
                quote=passage.text,
            )
        )
    return Citation.objects.bulk_create(rows)


def _guard_json(result) -> dict:
    return {
        "action": result.action,
        "reasons": [
            {"code": r.code, "category": r.category, "detail": r.detail} for r in result.reasons
        ],
    }


def _blocked(check: SentenceCheck, verdict) -> SentenceCheck:
    reasons = tuple(f"output guard: {r.code} ({r.detail})" for r in verdict.reasons)
    return SentenceCheck(
        text=check.text,
        labels=check.labels,
        supported=False,
        score=check.score,
        lexical=check.lexical,
        semantic=check.semantic,
        aligned_label=check.aligned_label,
        aligned_span=check.aligned_span,
        problems=check.problems + reasons,
    )


def _verification_summary(resolved: list[bool]) -> dict:
    return {"drafted": len(resolved), "supported": sum(resolved)}


def answer_stream(
    *,
    question: str,
    user,
    collections: list[str] | None = None,
    language: str | None = None,
    retriever: str | None = None,
) -> Iterator[dict]:
    """Run the pipeline, yielding events (see the module docstring) as each step completes."""
    if user is None:
        user = AnonymousUser()
    run = _Run(
        question=question,
        user=user,
        collections=collections,
        language=language,
        retriever=retriever,
    )
    yield from run.events()


def answer_run(
    *,
    question: str,
    user=None,
    collections: list[str] | None = None,
    language: str | None = None,
    retriever: str | None = None,
) -> AnswerOutcome:
    """Run the whole pipeline and return the stored outcome."""
    events = list(
        answer_stream(
            question=question,
            user=user,
            collections=collections,
            language=language,
            retriever=retriever,
        )
    )
    done = events[-1]
    answer = Answer.objects.get(public_id=done["answer_id"])
    return AnswerOutcome(
        answer=answer,
        status=done["status"],
        refusal_reason=done["refusal_reason"],
        sentences=done["sentences"],
        citations=done["citations"],
        guidance=done["guidance"],
        emergency_notice=answer.emergency_notice,
        events=events,
    )
