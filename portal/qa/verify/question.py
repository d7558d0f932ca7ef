"""How a claim or a passage sentence relates to the question: quoting, echoes, glued titles.

These read the question as well as the passage, so they sit beside the verifier rather than in
its registry (which judges a claim against its evidence alone).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import textkit
from llm_backend.text import is_heading, is_title
from portal.qa.verify.answering import Weigh, sentences_ranked
from portal.qa.verify.checks import Claim, not_a_claim
from portal.qa.verify.evidence import PassageEvidence, is_question, word_units
from portal.qa.verify.verifier import coverage

# Whether a question asks for content rather than for a yes or a no. English: its last question
# opens with a wh-word or a request, not an auxiliary ("Do I need to bring the title when I
# transfer ..." is a yes/no question whatever "when" follows). Chinese: a wh-word or a request
# (简述, 分析) and no closing 吗; not a bare 何 or 几 (任何 "any", 几乎 "almost").
_WH_EN = re.compile(
    r"(?:what|which|who|whom|whose|when|where|why|how|describe|explain|list|summari[sz]e)\b",
    re.I,
)
_WH_ZH = re.compile(
    r"什么|哪|谁|如何|为何|有何|何种|何时|何地|何为|怎|为什么|多少|几[个岁年月天次周种项条]"
    r"|简述|分析|说明|列举|描述|概述|阐述"
)
_TITLE_GLUE = " \t:：-–—|"


def asks_for_content(question: str) -> bool:
    asked = [s for s in textkit.split_sentences(question) if s.strip()]
    last = next((s for s in reversed(asked) if is_question(s)), None)
    last = (last or (asked[-1] if asked else "")).strip()
    if textkit.has_cjk(last):
        return bool(_WH_ZH.search(last)) and not last.rstrip("?？。 ").endswith("吗")
    return bool(_WH_EN.match(last))


def quotable(sentence: str) -> bool:
    """A passage sentence worth quoting as an answer: a statement, not a heading or question."""
    return not_a_claim(Claim(sentence, ("q",), {})) is None


def quote_for(
    question: str,
    evidence: PassageEvidence,
    *,
    exclude: set[str],
    min_overlap: float,
    weigh: Weigh | None = None,
    min_answer: float = 0.0,
) -> str | None:
    """The passage sentence that best answers the question, verbatim, or None when none shares
    ``min_overlap`` of it. Among the sentences that share enough, the answer-sentence scorer
    (``answering.py``, fitted on dev gold spans) picks the one most likely to state what was
    asked, and none is returned when even that one scores under ``min_answer``. Supported by
    construction; used in place of a claim that failed."""
    asked = set(word_units(question))
    if not asked:
        return None
    before = dict(zip(evidence.sentences, ["", *evidence.sentences[:-1]], strict=True))
    candidates = [
        sentence
        for sentence, units in zip(evidence.sentences, evidence.units, strict=True)
        if sentence not in exclude
        and units
        and quotable(sentence)
        and not is_heading(sentence)
        and sentence.strip() not in evidence.titles
        and coverage(asked, units) >= min_overlap
    ]
    if not candidates:
        return None
    previous = [before.get(c, "") for c in candidates]
    score, best = sentences_ranked(question, candidates, weigh=weigh, previous=previous)[0]
    if score < min_answer:
        return None
    return without_leading_marks(candidates[best]) or None


def best_answer_sentence(
    question: str,
    evidence: Mapping[str, PassageEvidence],
    *,
    exclude: set[str],
    weigh: Weigh | None = None,
    min_answer: float = 0.0,
) -> tuple[str, str, float] | None:
    """(label, sentence, probability) of the passage sentence most likely to answer the
    question across all the passages (the answer-sentence scorer, each sentence read with the
    line before it), or None when none is quotable or the best scores under ``min_answer``."""
    candidates: list[tuple[str, str, str]] = []
    for label, ev in evidence.items():
        for i, sentence in enumerate(ev.sentences):
            if (
                sentence in exclude
                or not quotable(sentence)
                or is_heading(sentence)
                or sentence.strip() in ev.titles
            ):
                continue
            candidates.append((label, sentence, ev.sentences[i - 1] if i else ""))
    if not candidates:
        return None
    score, best = sentences_ranked(
        question,
        [c[1] for c in candidates],
        weigh=weigh,
        previous=[c[2] for c in candidates],
    )[0]
    if score < min_answer:
        return None
    label, sentence, _ = candidates[best]
    text = without_leading_marks(sentence)
    return (label, text, score) if text else None


# Marks no sentence may open with: list bullets, dashes, and punctuation left over from a split
# ("，那您可以..."). Removing them adds nothing, so it cannot make a claim.
_LEADING = " \t\r\n,，.。;；:：、!！?？)）]】-–—•·*>"


def without_leading_marks(text: str) -> str:
    return text.lstrip(_LEADING)


def as_claimed(text: str, cited: Sequence[PassageEvidence]) -> str:
    """What of a drafted sentence is judged: a glued title and leading marks removed, and the
    passage's own spacing where it was copied (the same for the engine and the verifier's fit)."""
    text = without_leading_marks(without_title_prefix(text, cited))
    return with_passage_spacing(text, [ev.text for ev in cited])


def with_passage_spacing(text: str, passages: Sequence[str]) -> str:
    """A sentence copied from a passage but for its whitespace, in the passage's own spacing.

    The model drops spaces when it copies ("credits needed.They can get", "U.S.citizen") and
    swallows a heading line in front ("Renew by mail WARNING: ..."); the verifier rightly calls
    such a sentence verbatim. What the reader sees is the passage's text: spaces restored, line
    breaks read as spaces, heading lines in front dropped (removing words adds no claim).
    Chinese is left as written: its line breaks are no spaces.
    """
    squeezed = "".join(text.split())
    if not squeezed or textkit.has_cjk(text):
        return text
    for passage in passages:
        index = [i for i, c in enumerate(passage) if not c.isspace()]
        flat = "".join(passage[i] for i in index)
        at = flat.find(squeezed)
        if at < 0:
            continue
        span = passage[index[at] : index[at + len(squeezed) - 1] + 1]
        lines = [line.strip() for line in span.splitlines() if line.strip()]
        while len(lines) > 1 and is_heading(lines[0]):
            lines.pop(0)
        return " ".join(" ".join(lines).split())
    return text


def without_title_prefix(text: str, cited: Sequence[PassageEvidence]) -> str:
    """The sentence without a title of a passage it cites copied in front of it ("sciencemag.org#14
    Examples may include ..."): dropped only where a new sentence visibly starts after it (a
    capital letter, a figure or Chinese after a space or colon), so "Medicare Part B covers ..."
    keeps its subject. Nothing is added, so dropping it cannot make a claim."""
    titles = sorted({t for evidence in cited for t in evidence.titles}, key=len, reverse=True)
    for title in titles:
        if len(title) < 3 or text[: len(title)].lower() != title.lower():
            continue
        rest = text[len(title) :]
        body = rest.lstrip(_TITLE_GLUE)
        if body == rest or not body:
            continue
        if body[0].isupper() or body[0].isdigit() or textkit.is_cjk_char(body[0]):
            return body
    return text


def restates_question(
    text: str, question: str, cited: Sequence[PassageEvidence], *, min_new: float = 0.2
) -> bool:
    """Whether a claim answers a wh-question (or a request) with nothing but the question's own
    words and the titles of its passages. Yes/no questions are left alone: "You can renew by
    mail" restating "Can I renew by mail?" is the answer."""
    if not asks_for_content(question):
        return False
    units = set(textkit.content_units(text))
    if not units:
        return False
    known = set(textkit.content_units(question))
    known_values = set(textkit.values(question))
    for evidence in cited:
        for line in evidence.text.splitlines():
            if is_title(line):
                known |= textkit.content_units(line)
                known_values |= textkit.values(line)
    # A number neither the question nor a title holds is an answer ("2年" to "多长时间").
    if textkit.values(text) - known_values:
        return False
    return 1 - coverage(units, known) < min_new


def relevance(question: str, evidence: PassageEvidence) -> float:
    """Share of the question's content units the passage holds (0..1)."""
    asked = set(word_units(question))
    held: frozenset[str] = frozenset().union(*evidence.units) if evidence.units else frozenset()
    return coverage(asked, held)
