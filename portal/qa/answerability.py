"""Is the question answerable from what retrieval found? The gate before any generation.

Shared words are weak evidence: a near-topic document shares a question's common words ("patients",
"treatment", "benefits") without saying anything about its specific subject. The question's rare
words are what make it answerable, so the gate weighs each question term by its inverse document
frequency in the keyword index (the same IDF BM25 ranks with) and asks what share of that weight
a document covers (its retrieved passages with its title and headings; ``pipeline._relevant``
builds that text). A term the corpus never contains gets the largest possible weight: a question
about something no document mentions is not answerable from these documents.

Chosen on the dev splits (README "Answers"): on PubMedQA dev, whose documents are distinct
studies, a floor of 0.4 refused every question whose abstract was withheld (0.84 before) while
answering 89% of the answerable ones.

Terms meet on their English stems (Snowball, as search engines stem English): "Will you notify
users if the policy is changed?" is covered by a passage that says "we will notify you of
changes", and an inflected form the corpus never uses ("changed") takes the weight of its stem,
not the weight of a word no document contains. On PolicyQA dev (200 questions) this let 28 more
answerable questions past the gate (98 to 126; 16 more with their gold paragraph), and on
doc2dial dev changed nothing for questions whose page was withheld.

Chinese terms meet the words they abbreviate: the public asks about 社保 and 医保, the statutes say
社会保险 and 医疗保险 and never use the short forms, which as unseen terms would otherwise take the
largest weight ("社保怎么转移？" was refused over 社会保险法's transfer articles). Only a 2-3
character term no chunk contains is matched this way, to a longer word with the same first
character and its characters in order.

Lay words meet the official words they were learned to stand for (``bridges``: 派出所 / 公安机关,
辞职 / 解除劳动合同): a term the passage lacks but one of whose bridges it holds counts for
``ANSWER_BRIDGE_CREDIT`` of its weight, since a bridge says the passage is on the term's subject,
not that it uses the term's meaning.
"""

from __future__ import annotations

import math
import threading
import weakref
from dataclasses import dataclass, field

from django.conf import settings

from ingestion.keyword_index import BM25Index
from portal.qa.bridges import TermBridges, bridges_current
from portal.qa.termvectors import near_terms
from portal.safety.pii import PLACEHOLDERS
from textkit import abbreviates, stem
from textkit import words as tokenize

# Words that frame a question rather than name its subject ("how much", "how long does it take",
# "I need to know"). A small knowledge base may never contain them, and an unseen word gets the
# largest weight, so without this list a new deployment refused ordinary questions. Tokenized
# here, so the list matches whatever form the tokenizer gives a word.
QUESTION_FRAME = frozenset(
    tokenize(
        "much many long often soon take takes get gets need needs want know tell please help "
        "like also still ever anyone someone thing things way "
        "什么 哪些 哪个 那个 这个 多少 多长 长时间 多长时间 多久 怎么 怎样 如何 为什么 是否 能否 "
        "可以 能 不能 需要 请问 知道 还 一下 有没有 多大 几个 怎么办 "
        # "那个病例": how staff name a case record, a word the record itself never uses.
        "病例"
    )
)


_stem_idf_cache: weakref.WeakKeyDictionary[BM25Index, dict[str, float]] = (
    weakref.WeakKeyDictionary()
)
_stem_idf_lock = threading.Lock()


def _stem_idf(index: BM25Index) -> dict[str, float]:
    """Per stem, the IDF of its most frequent form: the weight of a form the corpus never uses."""
    with _stem_idf_lock:
        cached = _stem_idf_cache.get(index)
        if cached is None:
            cached = {}
            for token, column in index.vocab.items():
                if token.isascii():  # Chinese words and pairs have no stems
                    key, value = stem(token), float(index.idf[column])
                    cached[key] = min(cached.get(key, value), value)
            _stem_idf_cache[index] = cached
        return cached


@dataclass(frozen=True)
class TermWeights:
    weights: dict[str, float]  # question term -> its weight
    stems: dict[str, str] = field(default_factory=dict)  # question term -> the stem it meets on
    # Terms no chunk contains; a Chinese short form among them is covered by a word it abbreviates.
    unseen: frozenset[str] = frozenset()
    # question term -> the official words it was learned to stand for (bridges.py), and the share
    # of its weight a passage holding one of them earns
    bridges: dict[str, tuple[str, ...]] = field(default_factory=dict)
    bridge_credit: float = 0.0
    # A Chinese term met by a passage word of the same meaning in the embedder ``near_spec``
    # (termvectors.py) at cosine >= ``near_floor`` earns ``near_credit`` (0: off).
    near_spec: str = ""
    near_floor: float = 1.0
    near_credit: float = 0.0

    @property
    def total(self) -> float:
        return sum(self.weights.values())

    def coverage(self, passage_text: str) -> float:
        """Share (0..1) of the question's IDF weight whose terms occur in the passage."""
        total = self.total
        if total <= 0:
            return 0.0
        tokens = tokenize(passage_text)
        present = {stem(t) for t in tokens}
        credits = {term: self._credit(term, present) for term in self.weights}
        if self.near_credit:
            short = [term for term, credit in credits.items() if credit < self.near_credit]
            for term in near_terms(self.near_spec, short, tokens, self.near_floor):
                credits[term] = self.near_credit
        return sum(w * credits[term] for term, w in self.weights.items()) / total

    def _credit(self, term: str, present: set[str]) -> float:
        if self._covered(term, present):
            return 1.0
        if self.bridge_credit and any(stem(w) in present for w in self.bridges.get(term, ())):
            return self.bridge_credit
        return 0.0

    def _covered(self, term: str, present: set[str]) -> bool:
        if self.stems.get(term, term) in present:
            return True
        return term in self.unseen and any(abbreviates(term, word) for word in present)


_CONFIGURED = object()


def term_weights(
    question: str, index: BM25Index | None, *, bridges: TermBridges | object | None = _CONFIGURED
) -> TermWeights:
    """IDF weight of each distinct question term; uniform weights when no keyword index exists.
    ``bridges``: the learned lay-to-official bridges (default: the configured ones; None: off)."""
    for placeholder in PLACEHOLDERS.values():
        # Redaction's own markers (<PHONE>) are not what the question is about.
        question = question.replace(placeholder, " ")
    # Chinese character pairs ("_乳腺") are BM25's recall device, not words: the pairs that
    # straddle two words ("_炎那", "_是什") occur in no text, and as unseen terms they would take
    # the largest weight, so a Chinese question could never reach the floor. jieba's words carry
    # the question's meaning.
    terms = [
        t
        for t in dict.fromkeys(tokenize(question))
        if t not in QUESTION_FRAME and not t.startswith("_")
    ]
    stems = {term: stem(term) for term in terms}
    if bridges is _CONFIGURED:
        bridges = bridges_current()
    bridged: dict[str, tuple[str, ...]] = {}
    if isinstance(bridges, TermBridges):
        bridged = {t: bridges.targets(t) for t in terms if bridges.targets(t)}
    soft = {  # the partial-credit matches, the same whatever the weights
        "bridges": bridged,
        "bridge_credit": settings.ANSWER_BRIDGE_CREDIT if bridged else 0.0,
        "near_spec": settings.EMBEDDING_MODEL,
        "near_floor": settings.ANSWER_TERM_NEAR_FLOOR,
        "near_credit": settings.ANSWER_TERM_NEAR_CREDIT if settings.ANSWER_TERM_NEAR else 0.0,
    }
    if index is None or not len(index):
        return TermWeights({term: 1.0 for term in terms}, stems, **soft)
    unseen = math.log(1.0 + (len(index) + 0.5) / 0.5)  # the idf of a term no chunk contains
    by_stem = _stem_idf(index)
    weights = {
        term: (
            float(index.idf[index.vocab[term]])
            if term in index.vocab
            else by_stem.get(stems[term], unseen)
        )
        for term in terms
    }
    unseen_terms = frozenset(t for t in terms if t not in index.vocab)
    return TermWeights(weights, stems, unseen_terms, **soft)
