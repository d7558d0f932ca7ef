"""The extractive backend: no model, the answer is the best-supported passage sentences, quoted.

Used when no LLM is configured and as the pipeline's fallback when a generated draft fails
verification. It cannot invent anything: every sentence it emits is a verbatim sentence of a passage
it was given, followed by that passage's marker.

Output format (what ``portal/qa/sentences.py`` reads): each quote is followed by its marker(s)
*after* its final punctuation, so the quote itself stays byte-for-byte the source text —
``Adults may renew by mail. [1]`` in English, ``成年人可以邮寄续办。[1]`` in Chinese (no space). A
sentence that appears word for word in several passages (overlapping chunks) cites each, up to
three: ``... [1][2]``. Quotes are separated by a space (English) or nothing (Chinese), or by a line
break after a quote without final punctuation (a list item) so it still ends where it should.

Scoring: the question's keyword tokens (``ingestion.tokenize``: jieba words for Chinese, lower-cased
words for English) minus question words ("what", "怎么"), weighted by IDF over the sentences of the
given passages. A sentence's score is the IDF-weighted share of the question it covers, plus a
small bonus for density (short sentences that are mostly about the question). An optional dense
similarity (``embed`` in the config: a callable from a list of texts to vectors) is mixed in with
``dense_weight``; it is what lets an English question quote a Chinese passage. When no sentence
covers at least ``min_coverage`` of the question (or reaches ``dense_min`` similarity), the stream
is empty and the pipeline refuses.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from ingestion.tokenize import tokenize
from llm_backend.base import BaseBackend, GenerationRequest, GenerationStream, Usage
from llm_backend.text import is_cjk, is_heading, sentence_spans, title_lines
from textkit import abbreviates

# Words that ask rather than say: they carry no evidence about the answer.
_QUESTION_WORDS = frozenset(
    """什么 怎么 怎样 怎么办 如何 哪些 哪个 哪里 多少 多久 是否 可以 能否 能不能 请问 为什么
    吗 呢 么 我们 你们 他们 需不需要 有没有 一下 please tell know""".split()
)
# A passage sentence that already holds "[3]" would read as a citation of passage 3: never quote it.
_MARKER_LIKE = re.compile(r"[\[【［]\s*\d{1,3}\s*[\]】］]")
_TERMINATED = re.compile(r"[。！？；.!?…][”’」』）)\]\"']*$")


def _words(text: str) -> list[str]:
    """Keyword tokens without the "_xy" Chinese character pairs ``tokenize`` adds for BM25.

    The pairs help BM25 recall, but here they measure support: a question's pairs that straddle
    words ("需要多久" -> "_要多") are in no passage, and would dilute its coverage of real words.
    """
    return [t for t in tokenize(text) if not t.startswith("_")]


@dataclass(frozen=True)
class Candidate:
    text: str
    labels: tuple[str, ...]
    tokens: frozenset[str]
    order: int  # position in the passages, for stable ties


@dataclass(frozen=True)
class Quote:
    text: str
    labels: tuple[str, ...]
    score: float
    coverage: float


class ExtractiveBackend(BaseBackend):
    kind = "extractive"

    def __init__(
        self,
        *,
        max_sentences: int = 3,
        min_coverage: float = 0.45,
        relative_min: float = 0.6,
        embed: Callable[[list[str]], Sequence[Sequence[float]]] | None = None,
        dense_weight: float = 0.3,
        dense_min: float = 0.6,
    ) -> None:
        super().__init__(model_id="extractive-v1", adapter_id=None)
        if max_sentences < 1:
            raise ValueError("max_sentences must be at least 1")
        self.max_sentences = max_sentences
        self.min_coverage = min_coverage
        self.relative_min = relative_min
        self.embed = embed
        self.dense_weight = dense_weight if embed is not None else 0.0
        self.dense_min = dense_min

    def stream(self, request: GenerationRequest) -> GenerationStream:
        def produce(usage: Usage) -> Iterator[str]:
            quotes = self.select(request.question, request.passages, titles=request.titles)
            usage.finish_reason = "stop"
            yield from format_quotes(quotes, language=request.language)

        # Stateless and cheap: no lock, so concurrent answers need not queue behind each other.
        return GenerationStream(produce)

    def select(
        self,
        question: str,
        passages: Sequence[tuple[str, str]],
        *,
        titles: Sequence[tuple[str, str]] = (),
    ) -> list[Quote]:
        """The 0..max_sentences best-supported sentences, best first. ``titles``: (label,
        document title) pairs, read only for the short forms below."""
        candidates = _candidates(passages)
        q_tokens = {t for t in _words(question) if t not in _QUESTION_WORDS}
        if not candidates or (not q_tokens and self.embed is None):
            return []
        df = Counter(t for c in candidates for t in c.tokens)
        n = len(candidates)
        # A Chinese short form no sentence uses (社保, 丢) stands for the words it abbreviates
        # (社会保险, 丢失): a sentence with one of them covers it, and so does every sentence of
        # a passage whose document title has one (社会保险法's articles say 养老保险, 失业保险).
        title_words = {label: frozenset(_words(title)) for label, title in titles}
        short = {q for q in q_tokens if q not in df}
        expands = {q: frozenset(w for w in df if abbreviates(q, w)) for q in short}
        named_by = {
            q: {lbl for lbl, words in title_words.items() if any(abbreviates(q, w) for w in words)}
            for q in short
        }

        def states(c: Candidate, t: str) -> bool:
            if t in c.tokens:
                return True
            return t in short and bool(c.tokens & expands[t] or named_by[t].intersection(c.labels))

        for q in short:
            df[q] = sum(1 for c in candidates if states(c, q))

        def idf(token: str) -> float:
            # A question word no passage sentence has counts as rare: missing it lowers coverage.
            return math.log(1.0 + n / max(df.get(token, 0), 0.5))

        q_weight = sum(idf(t) for t in q_tokens)
        dense = self._dense(question, candidates)
        scored: list[Quote] = []
        for i, c in enumerate(candidates):
            shared = {t for t in q_tokens if states(c, t)}
            coverage = sum(idf(t) for t in shared) / q_weight if q_weight else 0.0
            density = sum(idf(t) for t in shared) / (sum(idf(t) for t in c.tokens) or 1.0)
            lexical = coverage + 0.1 * density
            similarity = dense[i] if dense else 0.0
            supported = coverage >= self.min_coverage or (dense and similarity >= self.dense_min)
            if not supported:
                continue
            score = (1 - self.dense_weight) * lexical + self.dense_weight * similarity
            scored.append(Quote(c.text, c.labels, score, coverage))
        scored.sort(key=lambda q: -q.score)
        chosen: list[Quote] = []
        chosen_tokens: list[frozenset[str]] = []
        for quote in scored:
            if len(chosen) == self.max_sentences:
                break
            if chosen and quote.score < self.relative_min * chosen[0].score:
                break
            tokens = frozenset(_words(quote.text))
            if any(_jaccard(tokens, other) >= 0.7 for other in chosen_tokens):
                continue  # a near-repeat from an overlapping chunk adds nothing
            chosen.append(quote)
            chosen_tokens.append(tokens)
        return chosen

    def _dense(self, question: str, candidates: list[Candidate]) -> list[float]:
        if self.embed is None:
            return []
        vectors = [
            list(map(float, v)) for v in self.embed([question] + [c.text for c in candidates])
        ]
        q, rest = _unit(vectors[0]), [_unit(v) for v in vectors[1:]]
        return [sum(a * b for a, b in zip(q, v, strict=True)) for v in rest]


def _candidates(passages: Sequence[tuple[str, str]]) -> list[Candidate]:
    by_text: dict[str, Candidate] = {}
    order = 0
    for label, passage in passages:
        titles = title_lines(passage)
        for start, end in sentence_spans(passage):
            text = passage[start:end]
            if _MARKER_LIKE.search(text):
                continue
            tokens = frozenset(_words(text))
            if len(tokens) < 2 or is_heading(text) or text.strip() in titles:
                continue  # headings and fragments ("Fees", "第三条") say nothing on their own
            key = " ".join(text.split())
            if key in by_text:
                seen = by_text[key]
                if label not in seen.labels and len(seen.labels) < 3:
                    by_text[key] = Candidate(
                        seen.text, (*seen.labels, label), seen.tokens, seen.order
                    )
                continue
            by_text[key] = Candidate(text, (str(label),), tokens, order)
            order += 1
    return sorted(by_text.values(), key=lambda c: c.order)


def format_quotes(quotes: Sequence[Quote], *, language: str = "en") -> Iterator[str]:
    """Yield each quote with its markers after its final punctuation (see the module docstring)."""
    previous_terminated = True
    for i, quote in enumerate(quotes):
        chinese = is_cjk(quote.text) or (
            language == "zh" and not re.search(r"[A-Za-z]", quote.text)
        )
        markers = "".join(f"[{label}]" for label in quote.labels)
        separator = ""
        if i:
            separator = "\n" if not previous_terminated else ("" if chinese else " ")
        terminated = _TERMINATED.search(quote.text) is not None
        yield f"{separator}{quote.text}{'' if chinese else ' '}{markers}"
        previous_terminated = terminated


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def _unit(vector: list[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]
