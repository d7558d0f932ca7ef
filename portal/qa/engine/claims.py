"""The one loop every written text goes through: split, verify, quote or drop, guard.

Answers, staff drafts, staff edits of drafts and reviewers' edits of held answers all publish
sentences through a ``ClaimPass``; what differs between them is a ``ClaimPolicy`` (whether a
failing sentence may be replaced by a quote, may be re-cited, or must echo nothing of the
question), never a copy of the loop.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace

from llm_backend.base import Backend, BackendError, GenerationRequest, Usage
from portal.qa.prompts import REFUSAL_TOKEN
from portal.qa.sentences import DraftSentence, SentenceStream, split_sentences
from portal.qa.verify import (
    PassageEvidence,
    Problem,
    Verdict,
    VerifierConfig,
    as_claimed,
    asks_for_content,
    best_answer_sentence,
    claim_verify,
    finding,
    quote_for,
    restates_question,
)
from portal.qa.verify.answering import answer_probability
from portal.qa.verify.evidence import is_question
from portal.safety import services as safety

_SENTENCE_END = (".", "。", "!", "！", "?", "？", ";", "；", ")", "）", '"', "”")


@dataclass(frozen=True)
class ClaimPolicy:
    """What a pass does with each sentence. Presets below; read them side by side."""

    name: str
    recite: bool  # a failing sentence may cite another given passage that fully states it
    quote_fallback: bool  # a failing sentence is replaced by the best passage sentence
    quote_needs_sentence_end: bool  # ...and only by one that ends like a sentence (letters)
    echo_check: bool  # a supported echo of a wh-question is not an answer
    on_target_check: bool = False  # a supported sentence that does not answer is not published
    output_guard: bool = True  # every published sentence passes the output guard
    max_sentences: int = 3


ANSWER = ClaimPolicy("answer", recite=True, quote_fallback=True, quote_needs_sentence_end=False,
                     echo_check=True, on_target_check=True)  # fmt: skip
DRAFT = ClaimPolicy("draft", recite=True, quote_fallback=True, quote_needs_sentence_end=True,
                    echo_check=False, max_sentences=8)  # fmt: skip
# A person's edit is judged as written: never swapped for a quote or moved to another passage.
EDIT = ClaimPolicy("edit", recite=False, quote_fallback=False, quote_needs_sentence_end=False,
                   echo_check=False, max_sentences=50)  # fmt: skip


@dataclass
class Published:
    text: str
    citations: list[str]
    quoted: bool
    verdict: Verdict
    # Across languages: the reader's translation of ``text``, None where it was withheld because
    # it did not keep the original's numbers or conditions (``translation_problems`` says which).
    translation: str | None = None
    translation_problems: tuple[str, ...] = ()

    def as_event(self) -> dict:
        event = {"text": self.text, "citations": self.citations, "quoted": self.quoted}
        if self.translation is not None or self.translation_problems:
            event["translation"] = self.translation
            event["translation_problems"] = list(self.translation_problems)
        return event


@dataclass
class ClaimPass:
    """One text's trip through verification. ``accept`` takes a drafted sentence; ``published``
    holds what may be shown, ``verdicts`` every judgement (for the record and for routing)."""

    question: str
    evidence: dict[str, PassageEvidence]
    language: str
    policy: ClaimPolicy
    verifier: VerifierConfig
    embed: Callable | None = None
    canary: str = ""
    raw_question: str = ""  # the output guard reads what was asked, unredacted
    quote_min_overlap: float = 0.4
    weigh: Callable | None = None  # text -> share of the question's IDF weight (quote ranking)
    # ANSWER_MIN_ANSWER_SCORE: the answer-sentence scorer's probability a published sentence
    # (and a quote put in place of one) needs under a policy with ``on_target_check``.
    min_answer_score: float = 0.0
    planted: tuple[str, ...] = ()  # flagged sentences of the cited chunks (never published)
    published: list[Published] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)
    resolved: list[bool] = field(default_factory=list)  # per drafted claim: verified or quoted
    model_refused: bool = False
    removed: int = 0
    backend_error: str = ""  # why the backend stopped early (server down, timeout), if it did
    lead_verdicts: list[int] = field(default_factory=list)  # verdicts of quotes put in front
    verify_s: float = 0.0
    guard_s: float = 0.0
    first_published_s: float | None = None
    draft: str = ""  # what the backend wrote, markers included
    usage: Usage = field(default_factory=Usage)  # tokens and timings the backend reported
    started: float = field(default_factory=time.perf_counter)

    @property
    def full(self) -> bool:
        return len(self.published) >= self.policy.max_sentences

    def accept(self, drafted: DraftSentence, *, fallback_labels: Iterable[str] = ()) -> bool:
        """Judge one drafted sentence; True when something was published for it."""
        if drafted.text.strip().strip(".。") == REFUSAL_TOKEN:
            self.model_refused = True
            return False
        labels = tuple(drafted.labels) or tuple(fallback_labels)
        cited = [self.evidence[lbl] for lbl in labels if lbl in self.evidence]
        text = as_claimed(drafted.text, cited)
        if not text:
            return False
        mark = time.perf_counter()
        verdict = claim_verify(
            text,
            labels,
            self.evidence,
            config=replace(self.verifier, recite=self.verifier.recite and self.policy.recite),
            embed=self.embed,
        )
        if (
            verdict.supported
            and self.policy.echo_check
            and restates_question(
                verdict.text, self.question, [self.evidence[lbl] for lbl in verdict.labels]
            )
        ):
            verdict = replace(verdict, trivial=True).with_finding(
                finding(Problem.RESTATES_QUESTION)
            )
        off_target = False
        if verdict.supported and self._answer_floor:
            aligned = self.evidence.get(verdict.aligned_label or verdict.labels[0])
            previous = aligned.line_before(verdict.aligned_span) if aligned else ""
            score = answer_probability(
                self.question, verdict.text, weigh=self.weigh, previous=previous
            )
            if score < self._answer_floor:
                # True but beside the question: a quote that answers may take its place.
                off_target = True
                verdict = verdict.with_finding(finding(Problem.OFF_TARGET, p=f"{score:.2f}"))
        self.verify_s += time.perf_counter() - mark
        self.verdicts.append(verdict)
        # Routing counts unsupported drafts; an off-target sentence was supported.
        self.resolved.append(verdict.supported or verdict.trivial or off_target)
        item = self._publishable(verdict, labels)
        if item is None:
            self.removed += 0 if (verdict.trivial or off_target) else 1
            return False
        if self.policy.output_guard and not self._guard(item):
            return False
        self.published.append(item)
        if self.first_published_s is None:
            self.first_published_s = time.perf_counter() - self.started
        return True

    @property
    def _answer_floor(self) -> float:
        return self.min_answer_score if self.policy.on_target_check else 0.0

    def _publishable(self, verdict: Verdict, labels: tuple[str, ...]) -> Published | None:
        if verdict.supported:
            item = Published(verdict.text, list(verdict.labels), False, verdict)
        elif self.policy.quote_fallback:
            label = verdict.aligned_label or next(
                (lb for lb in labels if lb in self.evidence), None
            )
            quote = (
                quote_for(
                    self.question,
                    self.evidence[label],
                    exclude={p.text for p in self.published},
                    min_overlap=self.quote_min_overlap,
                    weigh=self.weigh,
                    min_answer=self._answer_floor,
                )
                if label
                else None
            )
            if quote is None or (
                self.policy.quote_needs_sentence_end and not quote.rstrip().endswith(_SENTENCE_END)
            ):
                return None
            item = Published(quote, [label], True, verdict)
            self.resolved[-1] = True
        else:
            return None
        if any(p.text == item.text for p in self.published):
            return None
        return item

    def _blocked(self, item: Published) -> str | None:
        """Why the output guard blocks ``item``, or None when it passes."""
        mark = time.perf_counter()
        verdict = safety.output_check(
            question=self.raw_question or self.question,
            sentences=[(item.text, item.citations)],
            passages={lbl: ev.text for lbl, ev in self.evidence.items()},
            language=self.language,
            canary=self.canary,
            planted=self.planted,
        )
        self.guard_s += time.perf_counter() - mark
        if not verdict.blocked_sentence_indexes:
            return None
        return ", ".join(f"{r.code}.{r.category}" for r in verdict.reasons) or "blocked"

    def _guard(self, item: Published) -> bool:
        reason = self._blocked(item)
        if reason is None:
            return True
        self.verdicts[-1] = self.verdicts[-1].with_finding(
            finding(Problem.OUTPUT_BLOCKED, reason=reason)
        )
        self.resolved[-1] = False
        self.removed += 1
        return False

    def _answer_score(self, item: Published) -> float:
        evidence = self.evidence.get(item.verdict.aligned_label or item.citations[0])
        previous = evidence.line_before(item.text) if evidence else ""
        return answer_probability(self.question, item.text, weigh=self.weigh, previous=previous)

    def lead_with_best_quote(self) -> None:
        """The passage sentence the answer-sentence scorer ranks best among all the passages
        leads the answer when it outranks what the model wrote first: the 0.5B model often
        writes a true sentence of the right page that is not the one asked about. It is quoted
        verbatim, verified and guarded like any sentence, and the answer stays within
        ``max_sentences`` (the last sentence gives way). Only under a policy with
        ``on_target_check``, and only where something was published (a model that found no
        answer is not overruled)."""
        if not self.policy.on_target_check or not self.published:
            return
        best = best_answer_sentence(
            self.question,
            self.evidence,
            exclude={p.text for p in self.published},
            weigh=self.weigh,
            min_answer=self._answer_floor,
        )
        if best is None or best[2] <= self._answer_score(self.published[0]):
            return
        label, sentence, _ = best
        mark = time.perf_counter()
        verdict = claim_verify(
            sentence,
            (label,),
            self.evidence,
            config=replace(self.verifier, recite=False),
            embed=self.embed,
        )
        self.verify_s += time.perf_counter() - mark
        if not verdict.supported:
            return
        item = Published(verdict.text, [label], True, verdict)
        if self._blocked(item) is not None:
            return
        self.lead_verdicts.append(len(self.verdicts))  # on the record, marked as not drafted
        self.verdicts.append(verdict)
        self.published.insert(0, item)
        del self.published[self.policy.max_sentences :]

    def conclusion_first(self) -> None:
        """A yes/no question gets its conclusion first: the published sentences in order of how
        well each answers the question (the answer-sentence scorer), ties kept in drafted order.
        A wh-question keeps the drafted order, which reads as the model wrote it."""
        if len(self.published) < 2 or not is_question(self.question):
            return
        if asks_for_content(self.question):
            return

        self.published.sort(key=self._answer_score, reverse=True)

    # -- sources of sentences -------------------------------------------------------------------

    def generate(self, backend: Backend, request: GenerationRequest) -> Iterator[int]:
        """Stream a draft from ``backend`` and accept its sentences as they complete. Yields the
        number published so far after each sentence (progress without text); ``usage`` and
        ``draft`` hold what the backend reported and wrote."""
        splitter = SentenceStream()
        stream = backend.stream(request)
        chunks: list[str] = []
        self.resolved = []  # a pass (the model's, or the quoting fallback's) is judged alone
        try:
            for delta in stream:
                chunks.append(delta)
                for sentence in splitter.feed(delta):
                    self.accept(sentence)
                    yield len(self.published)
                if self.full:
                    break
        except BackendError as exc:
            # What was verified so far stands; the rest is missing, and the count says so.
            self.removed += 1
            self.backend_error = str(exc)
        finally:
            stream.close()
            self.draft = "".join(chunks)
            self.usage = stream.usage
        for sentence in splitter.close():
            if not self.full:
                self.accept(sentence)
                yield len(self.published)

    def check_text(self, text: str, *, default_labels: Iterable[str] = ()) -> list[Verdict]:
        """Judge a person's text, sentence by sentence (markers choose the passages; without
        them ``default_labels``). Returns one verdict per sentence."""
        start = len(self.verdicts)
        for piece in split_sentences(text):
            if piece.text:
                self.accept(piece, fallback_labels=default_labels)
        return self.verdicts[start:]


def published_text(sentences: Iterable[dict]) -> str:
    """The answer as one text: a translated sentence reads as its translation followed by the
    original it translates, in parentheses."""

    def one(s: dict) -> str:
        text = f"{s['translation']} ({s['text']})" if s.get("translation") else s["text"]
        return text + "".join(f" [{c}]" for c in s["citations"])

    return " ".join(one(s) for s in sentences)
