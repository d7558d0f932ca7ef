"""The answer engine: explicit steps over one typed run state.

    guard -> retrieve -> relevance -> prompt -> generate (+ verify, output guard per sentence)
          -> route -> persist -> release

Each step is a small method that reads and writes ``AnswerRun`` and is timed into
``Answer.timings``. Two rules shape the order:

- **No sentence leaves before its route is known.** Verified sentences are held in the run while
  the model writes; only after ``route`` decided to publish are they released as ``sentence``
  events. While writing, the stream sends ``progress`` events that carry no text. A held or
  refused answer never shows a sentence, not even for a moment.
- **The row always ends.** An abandoned stream (the reader closed the page) or a failure finalises
  the Answer row as ``abandoned`` / ``failed`` instead of leaving it ``pending``.

Audit, rate limiting and token accounting happen here, not in views: the page, the API, ``manage.py
ask`` and evaluation all record the same events.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from llm_backend.base import GenerationRequest
from llm_backend.grammars import citation_grammar
from portal.accounts.selectors import user_role
from portal.audit.services import audit_record
from portal.core.clients import client_address
from portal.core.ratelimit import RateDecision, rate_check_client
from portal.knowledge.indexing import keyword_index_loaded
from portal.knowledge.models import Chunk
from portal.knowledge.retrieval import Passage, passages_search
from portal.knowledge.selectors import groups_mentioned
from portal.qa import answerability, guidance, translation
from portal.qa.backends import extractive_backend, generation_backend
from portal.qa.conf import AnswerConfig
from portal.qa.engine.claims import ANSWER, ClaimPass, published_text
from portal.qa.engine.relevance import embed_texts, index_version, passages_relevant
from portal.qa.models import Answer, AnswerStatus, Citation, RefusalReason
from portal.qa.prompts import build_prompt, trim_passage
from portal.qa.redaction import known_terms, searchable
from portal.qa.verify import DOCUMENT_GROUP_TERMS, PassageEvidence
from portal.safety import services as safety

logger = logging.getLogger(__name__)
MAX_QUESTION_CHARS = 1000


class RateLimited(Exception):
    """The asker is over a budget; ``retry_after_s`` says when to try again."""

    def __init__(self, decision: RateDecision) -> None:
        super().__init__("too many questions, please wait and try again")
        self.retry_after_s = decision.retry_after_s


@dataclass(frozen=True)
class Asker:
    """Who asks and through what: the user, the request (for the audit trail's client hash and
    the rate limiter's address), and the surface ("page", "api", "command", "evaluation")."""

    user: object = None
    request: HttpRequest | None = None
    via: str = "command"
    rate_limited: bool = False  # count against the "ask" budget (every public surface does)

    @classmethod
    def of(cls, request: HttpRequest, *, via: str) -> Asker:
        return cls(user=request.user, request=request, via=via, rate_limited=True)


@dataclass
class AnswerRun:
    """The state one question carries through the steps."""

    raw_question: str
    asker: Asker
    config: AnswerConfig
    collections: list[str]
    requested_language: str | None
    retriever: str | None
    question: str = ""  # redacted: what every step after the guard sees (translated, crossing)
    language: str = "en"  # the asker's: guidance and translations are written in it
    answer_language: str = "en"  # the sources': prompt, verification and quotes work in it
    asked: str = ""  # the redacted question in the asker's words, when it was translated
    answer: Answer | None = None
    checked: safety.GuardResult | None = None
    found: list[Passage] = field(default_factory=list)
    passages: dict[str, Passage] = field(default_factory=dict)
    evidence: dict[str, PassageEvidence] = field(default_factory=dict)
    claims: ClaimPass | None = None
    fallback_from: int | None = None  # verdicts from here on judged the quoting fallback
    canary: str = ""
    weigh: Callable | None = None  # text -> share of the question's IDF weight
    decision: safety.Decision | None = None
    timings: dict[str, float] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)

    @property
    def user(self):
        return self.asker.user or AnonymousUser()

    @contextmanager
    def step(self, name: str):
        mark = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = round(self.timings.get(name, 0.0) + time.perf_counter() - mark, 4)


# --- the steps ------------------------------------------------------------------------------------


def _guard(run: AnswerRun) -> None:
    with run.step("guard_input"):
        run.checked = safety.input_check(
            run.raw_question, language=run.requested_language, known_terms=known_terms()
        )
    run.language = run.requested_language or run.checked.language
    run.question = run.checked.redacted_text
    run.answer_language = run.language
    user = run.user
    run.answer = Answer.objects.create(
        asked_by=user if getattr(user, "is_authenticated", False) else None,
        asker_role=user_role(user) if run.asker.user is not None else "system",
        question=run.question,
        language=run.language,
        collections=run.collections,
        guard={"input": _guard_json(run.checked)},
    )


def _retrieve(run: AnswerRun) -> None:
    with run.step("retrieve"):
        run.found = _search(run, run.question)


def _search(run: AnswerRun, question: str) -> list[Passage]:
    return passages_search(
        question=searchable(question),
        user=run.user,
        k=run.config.passages,
        collections=run.collections or None,
        retriever=run.retriever,
    )


def _cross(run: AnswerRun) -> None:
    """Sources in another language than the question: from here on work in theirs.

    The question is translated into the language most retrieved passages are written in and
    searched again (keyword search needs the sources' words; the multilingual embedding found
    them across languages). Every later step reads the translation, so verification and quoting
    stay within one language; ``_translate_back`` brings the answer to the asker.
    """
    if not run.config.crosslingual or not run.found:
        return
    shown = run.found[: run.config.relevance.prompt_passages]
    source = translation.passages_language([p.text for p in shown], run.language)
    if source == run.language:
        return
    with run.step("translate_question"):
        translated = translation.translate(
            run.question, source=run.language, target=source, backend=generation_backend()
        )
    if not translated:
        return  # no model to translate with: answer as before, in the sources' words
    run.asked, run.question, run.answer_language = run.question, translated, source
    run.answer.question_translated = translated
    with run.step("retrieve"):
        again = _search(run, translated)
    seen = {p.chunk_id for p in again}
    run.found = (again + [p for p in run.found if p.chunk_id not in seen])[: run.config.passages]


def _translate_back(run: AnswerRun) -> None:
    """Each published sentence gets a translation into the asker's language, shown only where
    its numbers, negation, "only", bounds and groups match the verified original."""
    if run.answer_language == run.language:
        return
    backend = generation_backend()
    with run.step("translate_answer"):
        for item in run.claims.published:
            done = translation.sentence_translate(
                item.text, source=run.answer_language, target=run.language, backend=backend
            )
            item.translation = done.text if done.aligned else None
            item.translation_problems = done.problems


# The passages the context check reads with the question: those the prompt would show first.
CONTEXT_PASSAGES = 3


def _harmful_in_context(run: AnswerRun) -> bool:
    """Harm in context: a question the guard found borderline is scored again with what
    retrieval found; a request whose passages would help it is refused before any model reads
    them (portal/safety/learned.py)."""
    if not run.checked.context_check or not run.found:
        return False
    with run.step("guard_context"):
        reason = safety.context_reason(
            run.question, run.language, [p.text for p in run.found[:CONTEXT_PASSAGES]]
        )
    if reason is None:
        return False
    run.answer.guard["context"] = reason.as_dict()
    return True


def _relevance(run: AnswerRun) -> bool:
    with run.step("relevance"):
        implied = groups_mentioned(
            versions={(p.document_id, p.version) for p in run.found}, terms=DOCUMENT_GROUP_TERMS
        )
        # Computed once: the gate weighs coverage with them, the prompt and quotes rank with them.
        weights = answerability.term_weights(run.question, keyword_index_loaded())
        run.weigh = weights.coverage
        relevant = passages_relevant(
            run.question,
            run.found,
            implied,
            language=run.answer_language,
            config=run.config.relevance,
            weights=weights,
        )
    for number, passage in enumerate(relevant, start=1):
        label = str(number)
        run.passages[label] = passage
        run.evidence[label] = PassageEvidence.of(
            label,
            passage.text,
            implied.get((passage.document_id, passage.version), frozenset()),
            document_title=passage.document_title,
        )
    return bool(relevant)


def _request(run: AnswerRun) -> GenerationRequest:
    with run.step("prompt"):
        prompt = build_prompt(
            question=run.question,
            passages=[
                (
                    label,
                    run.passages[label].document_title,
                    trim_passage(
                        run.question, ev, max_chars=run.config.passage_max_chars, weigh=run.weigh
                    ),
                )
                for label, ev in run.evidence.items()
            ],
            language=run.answer_language,
            max_sentences=run.config.max_sentences,
        )
    run.canary = prompt.canary
    run.answer.prompt_version = prompt.version
    labels = list(run.evidence)
    return GenerationRequest(
        messages=prompt.messages,
        max_tokens=run.config.max_tokens,
        temperature=0.0,
        grammar=(
            citation_grammar(
                labels, run.config.max_sentences, latin_only=run.answer_language == "en"
            )
            if run.config.grammar
            else None
        ),
        question=run.question,
        passages=tuple((label, ev.text) for label, ev in run.evidence.items()),
        titles=tuple((label, run.passages[label].document_title) for label in run.evidence),
        language=run.answer_language,
    )


def _generate(run: AnswerRun) -> Iterator[dict]:
    """The model writes; each sentence is verified and guarded as it completes. Yields progress
    events (counts only). Falls back to quoting when nothing the model wrote survived."""
    request = _request(run)
    run.claims = ClaimPass(
        question=run.question,
        evidence=run.evidence,
        language=run.answer_language,
        policy=replace(ANSWER, max_sentences=run.config.max_sentences),
        verifier=run.config.verifier,
        embed=embed_texts,
        canary=run.canary,
        raw_question=run.raw_question,
        quote_min_overlap=run.config.quote_min_overlap,
        min_answer_score=run.config.min_answer_score,
        weigh=run.weigh,
        planted=_planted(run),
    )
    backend = generation_backend()
    run.answer.backend = backend.kind
    run.answer.model_id = backend.model_id
    run.answer.adapter_id = backend.adapter_id or ""
    yield from _pass(run, backend, request, step="generate")
    claims = run.claims
    if not claims.published and backend.kind != "extractive" and not claims.model_refused:
        # Nothing the model wrote survived verification: quote the passages instead, and keep
        # the model that drafted on record.
        run.fallback_from = len(claims.verdicts)
        run.answer.backend = f"{backend.kind}+extractive"[:40]
        run.answer.draft += "\n--- extractive fallback ---\n"
        if claims.backend_error and not claims.draft:
            # The model never answered (inference server down or overloaded): the reader is told
            # the answer quotes the passages, and the operator finds the reason in the log.
            logger.warning("generation backend failed, quoting instead: %s", claims.backend_error)
            run.answer.model_unavailable = True
            notice = guidance.model_unavailable_notice(run.language)
            yield {"event": "notice", "kind": "model_unavailable", "text": notice}
        yield from _pass(run, extractive_backend(), request, step="generate_fallback")


def _pass(run: AnswerRun, backend, request: GenerationRequest, *, step: str) -> Iterator[dict]:
    claims = run.claims
    mark = time.perf_counter()
    for count in claims.generate(backend, request):
        yield {"event": "progress", "stage": "checking", "verified": count}
    run.timings[step] = round(time.perf_counter() - mark, 4)
    run.answer.draft += claims.draft
    run.answer.prompt_tokens += claims.usage.prompt_tokens
    run.answer.completion_tokens += claims.usage.completion_tokens
    if claims.usage.first_token_s is not None:
        run.timings.setdefault("first_token", round(claims.usage.first_token_s, 4))


def _planted(run: AnswerRun) -> tuple[str, ...]:
    return tuple(text for p in run.passages.values() for text in p.planted)


def _route(run: AnswerRun) -> safety.Decision:
    claims = run.claims
    # Translations are shown to the reader too, so the guard reads them beside their originals.
    sentences = [(p.text, p.citations) for p in claims.published]
    originals = len(sentences)
    sentences += [(p.translation, p.citations) for p in claims.published if p.translation]
    with run.step("guard_output"):
        verdict = safety.output_check(
            question=run.raw_question,
            sentences=sentences,
            passages={lbl: ev.text for lbl, ev in run.evidence.items()},
            language=run.answer_language,
            canary=run.canary,
            translated=frozenset(range(originals, len(sentences))),
            planted=_planted(run),
        )
    decision = safety.route(
        run.checked, verdict, {"drafted": len(claims.resolved), "supported": sum(claims.resolved)}
    )
    run.answer.guard["output"] = _guard_json(verdict)
    run.answer.guard["route"] = {
        "action": decision.action,
        "reasons": [r.__dict__ for r in decision.reasons],
    }
    return decision


# --- endings --------------------------------------------------------------------------------------


def _persist(run: AnswerRun, *, status: str, reason: str = "", text: str = "") -> dict:
    answer = run.answer
    claims = run.claims
    published = [p.as_event() for p in claims.published] if claims else []
    if status != AnswerStatus.ANSWERED and status != AnswerStatus.HELD:
        published = []
    answer.status = status
    answer.refusal_reason = reason
    answer.guidance = text
    answer.sentences = published
    answer.published_text = published_text(published)
    lead = set(claims.lead_verdicts) if claims else set()
    answer.verification = [
        v.as_dict()
        | ({"fallback": True} if run.fallback_from is not None and i >= run.fallback_from else {})
        # Quotes the engine put in front are not the model's writing either.
        | ({"fallback": True, "lead_quote": True} if i in lead else {})
        for i, v in enumerate(claims.verdicts if claims else [])
    ]
    answer.retrieved = [
        {
            "label": label,
            "chunk_id": p.chunk_id,
            "score": round(p.score, 4),
            "document_id": p.document_id,
            "version": p.version,
        }
        for label, p in run.passages.items()
    ]
    answer.index_version = index_version()
    if claims is not None:
        run.timings["verify"] = round(claims.verify_s, 4)
        run.timings["guard_sentences"] = round(claims.guard_s, 4)
        if claims.first_published_s is not None:
            run.timings["first_sentence"] = round(
                claims.started - run.started + claims.first_published_s, 4
            )
    run.timings["total"] = round(time.perf_counter() - run.started, 4)
    answer.timings = run.timings
    if status == AnswerStatus.ANSWERED:
        answer.published_at = timezone.now()
    cited = {lbl for p in published for lbl in p["citations"]}
    with transaction.atomic():
        answer.save()
        citations = _citations_create(answer, {lbl: run.passages[lbl] for lbl in cited})
        audit_record(
            action="qa.ask",
            request=run.asker.request,
            user=run.asker.user,
            object_type="answer",
            object_id=answer.pk,
            detail={"status": status, "reason": reason, "via": run.asker.via},
        )
    public = status == AnswerStatus.ANSWERED
    return {
        "event": "done",
        "answer_id": str(answer.public_id),
        "status": status,
        "refusal_reason": reason or None,
        "guidance": text,
        # The documents a refusal names, to link (the asker could see them: retrieval is
        # filtered by the asker's collections).
        "closest_sources": answer.closest_sources,
        "sentences": published if public else [],
        "citations": {c.label: citation_payload(c) for c in citations} if public else {},
    }


def held_original(answer: Answer) -> Answer | None:
    """The earlier answer to the same question (redacted text, language, collections) that is
    still waiting for review: asking again joins its review item instead of opening another."""
    return (
        Answer.objects.filter(
            status=AnswerStatus.HELD,
            same_as__isnull=True,
            question=answer.question,
            language=answer.language,
            collections=answer.collections,
        )
        .exclude(pk=answer.pk)
        .order_by("created_at")
        .first()
    )


def _asked(run: AnswerRun) -> str:
    """The (redacted) question in the asker's own words: refusal guidance is chosen from it."""
    return run.asked or run.question


def _refused(run: AnswerRun, reason: str, text: str) -> dict:
    if run.claims is not None:
        run.claims.published = []
    return _persist(run, status=AnswerStatus.REFUSED, reason=str(reason), text=text)


def _no_support(run: AnswerRun, passages: list[Passage]) -> dict:
    """Refuse for want of support, naming the closest sources found (kept with the answer, so
    its page links them) and where to ask instead."""
    run.answer.closest_sources = guidance.closest_sources(passages)
    text = guidance.no_support(passages, language=run.language, question=_asked(run))
    return _refused(run, RefusalReason.NO_SUPPORT, text)


def _finish(run: AnswerRun) -> Iterator[dict]:
    """Route, persist, and only then release the sentences a reader may see."""
    claims = run.claims
    if claims.published:
        if run.config.lead_quote:
            claims.lead_with_best_quote()
        claims.conclusion_first()
        _translate_back(run)
    if not claims.published:
        yield _no_support(run, list(run.passages.values()))
        return
    decision = _route(run)
    if decision.action == "refuse":
        yield _refused(
            run,
            decision.refusal_reason or RefusalReason.UNSAFE,
            guidance.refused(decision.refusal_reason, language=run.language, question=_asked(run)),
        )
        return
    if decision.action == "hold":
        run.answer.same_as = held_original(run.answer)
        yield _persist(run, status=AnswerStatus.HELD, reason="held")
        return
    caution = (
        guidance.caution(language=run.language) if decision.action == "publish_with_caution" else ""
    )
    done = _persist(run, status=AnswerStatus.ANSWERED, text=caution)
    for index, item in enumerate(done["sentences"]):
        yield {"event": "sentence", "index": index, **item}
    yield done


def _events(run: AnswerRun) -> Iterator[dict]:
    _guard(run)
    yield {"event": "start", "answer_id": str(run.answer.public_id), "language": run.language}
    notice = safety.emergency_notice(
        run.raw_question, language=run.language, reasons=run.checked.reasons
    )
    if notice:
        run.answer.emergency_notice = notice
        yield {"event": "notice", "kind": "emergency", "text": notice}
    if run.checked.action == "refuse":
        yield _refused(run, run.checked.refusal_reason or "unsafe", run.checked.guidance)
        return
    yield {"event": "progress", "stage": "retrieving", "verified": 0}
    _retrieve(run)
    _cross(run)
    if _harmful_in_context(run):
        yield _refused(
            run, RefusalReason.UNSAFE, guidance.refused(RefusalReason.UNSAFE, language=run.language)
        )
        return
    if not _relevance(run):
        yield _no_support(run, run.found)
        return
    yield from _generate(run)
    yield from _finish(run)


def _finalised(run: AnswerRun) -> Iterator[dict]:
    """``_events`` with the guarantee that the row ends: abandoned or failed, never pending."""
    ended = False
    try:
        for event in _events(run):
            ended = event["event"] == "done"
            yield event
    except GeneratorExit:
        if not ended:
            _abandon(run, AnswerStatus.ABANDONED)
        raise
    except Exception:
        if not ended:
            _abandon(run, AnswerStatus.FAILED)
        raise


def _abandon(run: AnswerRun, status: str) -> None:
    if run.answer is None or run.answer.pk is None:
        return
    try:
        Answer.objects.filter(pk=run.answer.pk, status=AnswerStatus.PENDING).update(
            status=status,
            timings={**run.timings, "total": round(time.perf_counter() - run.started, 4)},
        )
        audit_record(
            action="qa.ask",
            request=run.asker.request,
            user=run.asker.user,
            object_type="answer",
            object_id=run.answer.pk,
            detail={"status": status, "reason": "", "via": run.asker.via},
        )
    except Exception:  # the original error matters more; this is best effort
        logger.exception("could not finalise answer %s as %s", run.answer.pk, status)


# --- public entry points -----------------------------------------------------------------------


def answer_stream(
    *,
    question: str,
    user=None,
    collections: list[str] | None = None,
    language: str | None = None,
    retriever: str | None = None,
    asker: Asker | None = None,
    config: AnswerConfig | None = None,
) -> Iterator[dict]:
    """Check the asker's budget now (raises ``RateLimited``), then return the event stream:
    start, notice, progress*, sentence* (only once published), done."""
    asker = asker or Asker(user=user)
    if asker.rate_limited:
        decision = rate_check_client(
            user=asker.user,
            address=client_address(asker.request) if asker.request else "",
            scope="ask",
        )
        if not decision.allowed:
            raise RateLimited(decision)
    run = AnswerRun(
        raw_question=question.strip()[:MAX_QUESTION_CHARS],
        asker=asker,
        config=config or AnswerConfig.from_settings(),
        collections=list(collections or []),
        requested_language=language,
        retriever=retriever,
    )
    return _finalised(run)


class _Preview(Exception):
    """Rolls the preview's rows back."""


def generation_request_preview(
    *, question: str, collections: list[str] | None = None, config: AnswerConfig | None = None
) -> GenerationRequest | None:
    """The request the engine would send the model for ``question`` (None when it would refuse
    before generating). Runs the real steps up to the prompt in a transaction that is rolled
    back, so nothing is stored: the serving benchmark measures the inference server alone on
    the pipeline's own prompts with it."""
    run = AnswerRun(
        raw_question=question.strip()[:MAX_QUESTION_CHARS],
        asker=Asker(user=None),
        config=config or AnswerConfig.from_settings(),
        collections=list(collections or []),
        requested_language=None,
        retriever=None,
    )
    request = None
    try:
        with transaction.atomic():
            _guard(run)
            if run.checked.action != "refuse":
                _retrieve(run)
                _cross(run)
                if not _harmful_in_context(run) and _relevance(run):
                    request = _request(run)
            raise _Preview
    except _Preview:
        pass
    return request


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


def answer_run(**kwargs) -> AnswerOutcome:
    """Run the engine to the end and return the stored outcome (same arguments as
    ``answer_stream``)."""
    events = list(answer_stream(**kwargs))
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


# --- records ------------------------------------------------------------------------------------


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
    record = {
        "action": result.action,
        "reasons": [
            {"code": r.code, "category": r.category, "detail": r.detail} for r in result.reasons
        ],
    }
    if getattr(result, "learned", None):
        record["learned"] = result.learned  # the heads' version and scores, never text
    return record
