"""Per-sentence verification: does the passage a sentence cites actually say what it says?

For each drafted sentence the verifier
1. checks it cites at least one passage it was given;
2. aligns it with the span of the cited passage that covers it best (one passage sentence, or two
   adjacent ones when that covers clearly more);
3. scores support from lexical evidence (content-word coverage; for Chinese, character and
   character-bigram coverage, because word segmentation of a paraphrase is unstable) and, when an
   embedder is given, embedding similarity with that span;
4. checks the facts word overlap cannot vouch for (portal.qa.facts): numbers, numeric conditions,
   negation and who the rule applies to. Any disagreement makes the sentence unsupported whatever
   its score.

Thresholds come from the caller (settings ``VERIFY_*``), so they can be tuned on dev data.
Unsupported sentences are replaced by a verbatim quote of the cited passage's most relevant
sentence (``quote_for``), which is supported by construction, or dropped.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from ingestion.tokenize import tokenize
from llm_backend.text import is_heading, is_title, title_lines
from llm_backend.text import split_sentences as passage_sentences
from portal.qa.facts import disagreements, facts_of, without_document_groups

Embed = Callable[[list[str]], np.ndarray]  # texts -> L2-normalised rows

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_TOKEN = re.compile(r"[A-Za-z]+|\d+(?:\.\d+)?")
# Characters that carry little meaning on their own in Chinese prose.
_CJK_FUNCTION = set(
    "的了和是在我你您吗呢吧啊有与及或之其就都也要会可以能这那个些为对于等将被把从向"
)
_YES_NO = re.compile(
    r"\s*(?:(?:yes|no|yeah|nope)\b\s*[,.!;:—-]|(?:是的|对|不是|不|没有)\s*[，,。！])", re.I
)
_NUMBER_WORD = re.compile(
    r"[\d.,]+|zero|one|two|three|four|five|six|seven|eight|nine|ten|eleve|twelv|thirt|fourt|"
    r"fifte|sixte|seven|eight|ninet|twent|forty|fifty|sixty|hundr|thous|twice|once|half|dozen"
)
_EN_GENERIC = frozenset(
    """yes also may must might shall need needs needed get gets got make makes made take takes
    one ones way ways thing things like well however therefore according source sources passage
    passages include includes including""".split()
)
# Not generic: "information". It reads like filler ("according to the information"), but in
# privacy and benefit texts a claim is often about it ("we obtain your information from ...").


@dataclass(frozen=True)
class Thresholds:
    min_support: float = 0.6  # combined score a sentence needs
    min_lexical: float = 0.5  # lexical coverage below this fails whatever the embedding says
    embedding_weight: float = 0.35  # share of the embedding similarity in the combined score
    # A sentence in another language than its passage (a Chinese answer from an English source)
    # shares no words with it: only the embedding, which is cross-lingual, can vouch for it.
    min_crosslingual: float = 0.6
    crosslingual: bool = True
    min_words: int = 3  # content words an English sentence needs to be checkable
    max_novel_words: int = 1  # content words a sentence may add to what its passages state
    # ...only in a sentence of at least this many content words, or one whose embedding is this
    # close to the passage span: in a short sentence the one word a passage never states is often
    # what the claim is about ("You obtain your information by visiting the manufacturer's
    # website", 0.56 from a span about downloading a plug-in), while a paraphrase ("You can pay
    # an extra $60 for expedited service") stays close (0.87).
    novel_allowance_min_words: int = 8
    novel_allowance_min_semantic: float = 0.6
    min_semantic: float = 0.4  # embedding similarity to the span below which words alone fail


@dataclass(frozen=True)
class SentenceCheck:
    text: str
    labels: tuple[str, ...]
    supported: bool
    score: float
    lexical: float
    semantic: float | None
    aligned_label: str | None
    aligned_span: str
    problems: tuple[str, ...] = ()
    # Not a claim at all (a heading, a bare question): dropped without counting against the draft.
    trivial: bool = False
    # What the model cited, when that passage failed and another one given supports the sentence
    # (``verify_or_recite``); ``labels`` then holds the passage that does.
    drafted_labels: tuple[str, ...] = ()

    def as_dict(self) -> dict:
        return {
            "text": self.text,
            "labels": list(self.labels),
            "supported": self.supported,
            "score": round(self.score, 3),
            "lexical": round(self.lexical, 3),
            "semantic": None if self.semantic is None else round(self.semantic, 3),
            "aligned_label": self.aligned_label,
            "problems": list(self.problems),
            **({"drafted_labels": list(self.drafted_labels)} if self.drafted_labels else {}),
        }


@dataclass
class PassageEvidence:
    """A passage cut into sentences once per answer, with each sentence's lexical units."""

    label: str
    text: str
    sentences: list[str] = field(default_factory=list)
    units: list[set[str]] = field(default_factory=list)
    # Groups its document is about though this passage may not name them (facts.DOCUMENT_GROUPS).
    implied: frozenset[str] = frozenset()
    titles: frozenset[str] = frozenset()  # lines that name a section rather than say anything

    @classmethod
    def of(
        cls,
        label: str,
        text: str,
        implied: frozenset[str] = frozenset(),
        *,
        document_title: str = "",
    ) -> PassageEvidence:
        # Ingestion's boundaries (those chunks were cut on, and the quoting backend's), so a
        # quote is never the tail of "Are a U.S. | citizen residing in one of the fifty states".
        sentences = passage_sentences(text) or [text]
        units = [lexical_units(s) for s in sentences]
        # The document's name counts as a title too: the prompt shows it on the passage's fence.
        titles = title_lines(text) | ({document_title.strip()} if document_title.strip() else set())
        return cls(label, text, sentences, units, implied, frozenset(titles))

    def windows(self) -> list[tuple[str, set[str]]]:
        """Spans a claim may rest on: single sentences and adjacent pairs. Questions are left
        out: "Does X lower Y?" (a study's title) does not support "X lowers Y"."""
        statement = [not _is_question(text) for text in self.sentences]
        out = [
            (text, units)
            for text, units, ok in zip(self.sentences, self.units, statement, strict=True)
            if ok
        ]
        for i in range(len(self.sentences) - 1):
            if statement[i] and statement[i + 1]:
                pair = self.sentences[i] + " " + self.sentences[i + 1]
                out.append((pair, self.units[i] | self.units[i + 1]))
        return out


def _is_question(sentence: str) -> bool:
    return sentence.rstrip().endswith(("?", "？"))


def _stem(word: str) -> str:
    # A crude stem so that "renew"/"renewal"/"renewing" and "apply"/"applying" meet.
    return word[:5] if len(word) > 5 else word


def lexical_units(text: str) -> set[str]:
    """Content units: stemmed English words, Chinese characters and character bigrams."""
    units: set[str] = set()
    for token in tokenize(text):
        if _CJK.search(token):
            continue
        if token in _EN_GENERIC or len(token) < 2:
            continue
        units.add(_stem(token))
    chars = [c for c in text if _CJK.match(c)]
    units.update(f"c:{c}" for c in chars if c not in _CJK_FUNCTION)
    units.update(f"b:{a}{b}" for a, b in itertools.pairwise(chars))
    return units


def coverage(units: set[str], evidence: set[str]) -> float:
    if not units:
        return 0.0
    # Single Chinese characters count half: bigrams and words carry the meaning.
    total = hit = 0.0
    for unit in units:
        w = 0.5 if unit.startswith("c:") else 1.0
        total += w
        hit += w if unit in evidence else 0.0
    return hit / total


def verify_sentence(
    text: str,
    labels: Sequence[str],
    evidence: dict[str, PassageEvidence],
    *,
    thresholds: Thresholds,
    embed: Embed | None = None,
) -> SentenceCheck:
    labels = tuple(labels)
    known = [label for label in labels if label in evidence]

    def unsupported(problem: str, **kw) -> SentenceCheck:
        defaults = {"score": 0.0, "lexical": 0.0, "semantic": None, "aligned_label": None}
        return SentenceCheck(
            text, labels, False, aligned_span="", problems=(problem,), **{**defaults, **kw}
        )

    if not labels:
        return unsupported("cites no passage")
    if not known:
        return unsupported("cites a passage it was not given: " + ", ".join(labels))

    if _YES_NO.match(text):
        # "Yes, your child can..." answers the question; no passage says "yes" to it.
        return unsupported("opens with a yes/no that no passage states")
    if not _quotable(text):
        return replace(
            unsupported(
                "too short to stand as an answer (a heading, a bare yes/no, or a question)"
            ),
            trivial=True,
        )
    if _is_chinese(text) != _is_chinese(" ".join(evidence[lbl].text for lbl in known)):
        return _verify_crosslingual(text, labels, known, evidence, thresholds, embed)
    implied = frozenset().union(*(evidence[lbl].implied for lbl in known))
    units = lexical_units(without_document_groups(text, implied))
    if not units:
        return unsupported("says nothing a passage could support")
    # Numbers are checked by value in portal.qa.facts ("six" = "6"), not as words.
    words = {u for u in units if not u.startswith(("c:", "b:")) and not _NUMBER_WORD.fullmatch(u)}
    if not _is_chinese(text) and len(words) < thresholds.min_words:
        # "Yes, I am a Veteran." covers its one content word and says nothing checkable.
        return unsupported("says too little to check against a passage")
    best: tuple[float, str, str] = (-1.0, "", "")
    for label in known:
        for span, span_units in evidence[label].windows():
            score = coverage(units, span_units)
            # A two-sentence window must earn its place: prefer the single sentence on ties.
            if score > best[0] + (0.1 if len(span) > len(evidence[label].sentences[0]) else 0):
                best = (score, label, span)
    lexical, label, span = best

    semantic = None
    if embed is not None and thresholds.embedding_weight > 0:
        vectors = embed([text, span])
        semantic = float(np.clip(vectors[0] @ vectors[1], 0.0, 1.0))
    weight = thresholds.embedding_weight if semantic is not None else 0.0
    score = (1 - weight) * lexical + weight * (semantic or 0.0)

    problems = _fact_problems(text, span, [evidence[lbl] for lbl in known])
    if lexical < thresholds.min_lexical:
        problems.append(f"too little of it is in the cited passage (coverage {lexical:.2f})")
    elif semantic is not None and semantic < thresholds.min_semantic:
        # Every word in the passage, the meaning elsewhere: "You collect information from me to
        # use." (PolicyQA test; similarity 0.12) against a passage on cookies and web beacons.
        problems.append(f"its words are in the passage but not its meaning ({semantic:.2f})")
    elif score < thresholds.min_support:
        problems.append(f"support score {score:.2f} below {thresholds.min_support:.2f}")
    if set(labels) - set(known):
        problems.append("also cites a passage it was not given")
    # Words the cited passages never state (their questions and headings do not count): one may
    # be a paraphrase; two are a claim of the model's own ("...enhances quality of life").
    stated: set[str] = set()
    for lbl in known:
        for _, span_units in evidence[lbl].windows():
            stated |= span_units
    novel = sorted(words - stated)
    if thresholds.max_novel_words == 0 and _CJK.search(text):
        # Where no word may be added (a re-cited sentence), Chinese words count too: "超声检查
        # 发现了左乳外上象限局部红肿..." (the demo) re-cited to the physical examination, which
        # says so of the palpation, not of the ultrasound.
        novel += _novel_chinese_words(
            without_document_groups(text, implied), [evidence[lbl] for lbl in known]
        )
    # Without an embedder (lexical evidence only) meaning cannot be judged: the word rule stays.
    allowed = (
        thresholds.max_novel_words
        if semantic is None
        or len(words) >= thresholds.novel_allowance_min_words
        or semantic >= thresholds.novel_allowance_min_semantic
        else 0
    )
    if len(novel) > allowed:
        problems.append("says what the cited passage does not: " + ", ".join(novel[:5]))
    return SentenceCheck(
        text=text,
        labels=labels,
        supported=not problems,
        score=score,
        lexical=lexical,
        semantic=semantic,
        aligned_label=label,
        aligned_span=span,
        problems=tuple(problems),
    )


# Words that only report a finding ("结肠镜检查发现了..." for the record's "所见...") add no claim.
_ZH_REPORTING = frozenset("发现 显示 提示 可见 见到 表明 结果 出现 所见".split())


def _novel_chinese_words(text: str, cited: list[PassageEvidence]) -> list[str]:
    """jieba's words of ``text`` (two characters or more) that no statement of ``cited`` holds."""
    stated = "".join(s for ev in cited for s in ev.sentences if not _is_question(s))
    words = {
        w
        for w in tokenize(text)
        if len(w) >= 2 and not w.startswith("_") and _CJK.search(w) and w not in _ZH_REPORTING
    }
    return sorted(w for w in words if w not in stated)


def _fact_problems(text: str, span: str, cited: list[PassageEvidence]) -> list[str]:
    return disagreements(
        facts_of(text),
        window=facts_of(span),
        cited=facts_of(" ".join(ev.text for ev in cited)),
        implied=frozenset().union(*(ev.implied for ev in cited)),
    )


def verify_or_recite(
    text: str,
    labels: Sequence[str],
    evidence: dict[str, PassageEvidence],
    *,
    thresholds: Thresholds,
    embed: Embed | None = None,
) -> SentenceCheck:
    """``verify_sentence``; when the sentence fails against what it cites, also against each
    other passage it was given, alone, under the same checks. A small model writes a sentence of
    the second passage and cites the first ("结肠镜检查发现..." citing the case history rather
    than the examinations): the sentence stands, with the citation of the passage that supports
    it. A sentence no single passage supports still fails.

    Each other passage is one more chance for a near miss to pass, and the model's own citation
    already failed, so against them the sentence may not add a single word the passage does not
    state (PubMedQA: "Participants did not have any significant pain-relieving effect ..."
    passed against a passage that says so "only [in the] first hour"; 17 of the 18 sentences
    re-cited on the dev splits pass this too)."""
    check = verify_sentence(text, labels, evidence, thresholds=thresholds, embed=embed)
    if check.supported or check.trivial or not check.labels:
        return check
    strict = replace(thresholds, max_novel_words=0)
    best: SentenceCheck | None = None
    for label in evidence:
        if label in check.labels:
            continue
        other = verify_sentence(text, (label,), evidence, thresholds=strict, embed=embed)
        if other.supported and (best is None or other.score > best.score):
            best = other
    return check if best is None else replace(best, drafted_labels=check.labels)


def _is_chinese(text: str) -> bool:
    cjk = len(_CJK.findall(text))
    letters = sum(1 for c in text if c.isalpha())
    return bool(letters) and cjk / letters >= 0.3


def _verify_crosslingual(
    text: str,
    labels: tuple[str, ...],
    known: list[str],
    evidence: dict[str, PassageEvidence],
    thresholds: Thresholds,
    embed: Embed | None,
) -> SentenceCheck:
    """Support across languages: the closest passage window by embedding, then the same fact
    checks (numbers, conditions, negation and groups of people are read in both languages)."""
    if embed is None or not thresholds.crosslingual:
        return SentenceCheck(
            text, labels, False, 0.0, 0.0, None, None, "",
            ("in another language than its passage (cross-language verification is off)",),
        )  # fmt: skip
    windows = [(label, span) for label in known for span, _ in evidence[label].windows()]
    vectors = embed([text] + [span for _, span in windows])
    similarities = vectors[1:] @ vectors[0]
    best = int(np.argmax(similarities))
    label, span = windows[best]
    semantic = float(np.clip(similarities[best], 0.0, 1.0))
    problems = _fact_problems(text, span, [evidence[lbl] for lbl in known])
    if semantic < thresholds.min_crosslingual:
        problems.append(
            f"cross-language similarity {semantic:.2f} below {thresholds.min_crosslingual:.2f}"
        )
    return SentenceCheck(
        text=text,
        labels=labels,
        supported=not problems,
        score=semantic,
        lexical=0.0,
        semantic=semantic,
        aligned_label=label,
        aligned_span=span,
        problems=tuple(problems),
    )


def _quotable(sentence: str) -> bool:
    """A sentence worth quoting as an answer: a statement, not a heading or a question."""
    stripped = sentence.strip()
    if _is_question(stripped):
        return False
    cjk = len(_CJK.findall(stripped))
    # Words and figures, not whitespace runs: "体温 T39.4℃，P105次/分，R24次/分，Bp126/73mmHg。"
    # (a case record's vital signs) is two runs but the whole answer to "体温是多少".
    tokens = len(_TOKEN.findall(stripped))
    return cjk + tokens >= 8 if cjk > tokens else tokens >= 4


def quote_for(
    question: str,
    evidence: PassageEvidence,
    *,
    exclude: set[str],
    min_overlap: float = 0.2,
) -> str | None:
    """The passage sentence most relevant to the question, verbatim, or None when none is.

    Used in place of a sentence that failed verification: a quote is supported by construction.
    """
    q_units = lexical_units(question)
    if not q_units:
        return None
    best_score, best = 0.0, None
    for sentence, units in zip(evidence.sentences, evidence.units, strict=True):
        if sentence in exclude or not units or not _quotable(sentence):
            continue
        if is_heading(sentence) or sentence.strip() in evidence.titles:
            continue
        score = coverage(q_units, units)
        if score > best_score:
            best_score, best = score, sentence
    return best if best_score >= min_overlap else None


# Not a bare 何 or 几: 任何 ("any") and 几乎 ("almost") do not ask.
# Whether a question asks for content rather than for a yes or a no. English: its last question
# opens with a wh-word or a request ("describe ..."), not an auxiliary ("Do I need to bring the
# title when I transfer ..." is a yes/no question whatever "when" follows). Chinese: a wh-word
# or a request (简述, 分析) and no closing 吗; not a bare 何 or 几 (任何 "any", 几乎 "almost").
_WH_EN = re.compile(
    r"(?:what|which|who|whom|whose|when|where|why|how|describe|explain|list|summari[sz]e)\b",
    re.I,
)
_WH_ZH = re.compile(
    r"什么|哪|谁|如何|为何|有何|何种|何时|何地|何为|怎|为什么|多少|几[个岁年月天次周种项条]"
    r"|简述|分析|说明|列举|描述|概述|阐述"
)


def asks_for_content(question: str) -> bool:
    asked = [s for s in passage_sentences(question) if s.strip()]
    last = next((s for s in reversed(asked) if s.rstrip().endswith(("?", "？"))), None)
    last = (last or (asked[-1] if asked else "")).strip()
    if _CJK.search(last):
        return bool(_WH_ZH.search(last)) and not last.rstrip("?？。 ").endswith("吗")
    return bool(_WH_EN.match(last))


_TITLE_GLUE = " \t:：-–—|"


def without_title_prefix(text: str, cited: Sequence[PassageEvidence]) -> str:
    """The sentence without a title of a passage it cites copied in front of it.

    The model writes "sciencemag.org#14 Examples may include hosting our web servers, ..."
    (PolicyQA test): the document's name from the passage's fence glued to a sentence of its
    text, which the strict judge rightly fails (the name is not in the sentence it quotes). The
    title is dropped only where a new sentence visibly starts after it (a capital letter or a
    figure after a space or colon; Chinese after a space or colon), so "Medicare Part B covers
    ..." keeps its subject. Nothing is added, so dropping it cannot make a claim."""
    titles = sorted({t for evidence in cited for t in evidence.titles}, key=len, reverse=True)
    for title in titles:
        if len(title) < 3 or text[: len(title)].lower() != title.lower():
            continue
        rest = text[len(title) :]
        body = rest.lstrip(_TITLE_GLUE)
        if body == rest or not body:
            continue  # the title runs on into the sentence's own words, or is all there is
        if body[0].isupper() or body[0].isdigit() or _CJK.match(body[0]):
            return body
    return text


def restates_question(
    text: str, question: str, cited: Sequence[PassageEvidence], *, min_new: float = 0.2
) -> bool:
    """Whether a sentence answers a wh-question (or a request: "简述...", "describe ...") with
    nothing but the question's own words and the titles of the passages it cites:
    "最高额抵押权担保的债权范围是最高额抵押担保的债权范围", "公益诉讼是<the article's title>" (STARD
    dev; both pass the support checks, since every word is in the passage). Yes/no questions are
    left alone: "You can renew by mail" restating "Can I renew by mail?" is the answer."""
    if not asks_for_content(question):
        return False
    units = lexical_units(text)
    if not units:
        return False
    known = lexical_units(question)
    for evidence in cited:
        for line in evidence.text.splitlines():
            if is_title(line):
                known |= lexical_units(line)
    return 1 - coverage(units, known) < min_new


def relevance(question: str, evidence: PassageEvidence) -> float:
    """Share of the question's content found in the passage (0..1), a cheap relevance signal."""
    q_units = lexical_units(question)
    all_units: set[str] = set().union(*evidence.units) if evidence.units else set()
    return coverage(q_units, all_units)
