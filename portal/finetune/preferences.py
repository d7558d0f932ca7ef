"""Rejected answers for DPO: the mistakes the verifier catches, and the two refusal mistakes.

Each seed answer's ``chosen`` is its verbatim cited target; its ``rejected`` is one of:

- **a perturbation the verifier rejects** (``perturbed``): the target with one sentence changed
  the way a small model gets a source wrong (../shared/MODELS.md): a number, a negation, an age,
  the side of a condition, or the sentence cited to another passage it was given. Each mechanism
  is a small named function in ``PERTURBATIONS``. A perturbed answer is kept only when
  ``portal.qa.verify.claim_verify`` accepts the original sentence and rejects the changed one, as
  drafted (no re-citing), so every pair is one the product's own verifier tells apart; the
  findings are stored with the row. A change the verifier lets through is dropped, not taught:
  preferring what the verifier cannot tell apart would teach noise.
- **refusing an answerable question** (``refused``): ``NOT_IN_SOURCES`` under the target;
- **answering a near-topic refusal question** (``answered_anyway``): the near-topic passage's
  sentence closest to the question, cited, under ``NOT_IN_SOURCES``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

import textkit
from portal.finetune.datasets import Example, _stable_key, best_sentences, render_answer
from portal.qa.conf import verifier_config
from portal.qa.prompts import REFUSAL_TOKEN
from portal.qa.sentences import split_sentences
from portal.qa.verify import PassageEvidence, Verdict, VerifierConfig, as_claimed, claim_verify

# (sentence, its labels, every label of the prompt) -> the changed (sentence, labels), or None
Perturb = Callable[[str, tuple[str, ...], tuple[str, ...]], tuple[str, tuple[str, ...]] | None]
PERTURBATIONS: dict[str, Perturb] = {}


def perturbation(name: str) -> Callable[[Perturb], Perturb]:
    def register(fn: Perturb) -> Perturb:
        PERTURBATIONS[name] = fn
        return fn

    return register


def _other(value: float) -> str:
    """A clearly different value, written in digits."""
    changed = value * 2 if value else 1
    return str(int(changed)) if changed == int(changed) else f"{changed:g}"


@perturbation("number")
def change_number(text: str, labels: tuple[str, ...], _all: tuple[str, ...]):
    """A figure of the sentence doubled ("6 to 8 weeks" -> "12 to 8 weeks", 十五日 -> 30日)."""
    for quantity in textkit.numbers(text):
        if quantity.kind in ("date", "ordinal"):
            continue
        piece = text[quantity.start : quantity.end]
        digits = re.search(r"\d+(?:\.\d+)?", piece)
        if digits:
            piece = piece[: digits.start()] + _other(float(digits.group())) + piece[digits.end() :]
        else:  # a number word or Chinese numeral: its value, changed, in digits
            piece = _other(quantity.value)
        return text[: quantity.start] + piece + text[quantity.end :], labels
    return None


_AGE = re.compile(
    r"(?:\b(?:age[sd]?|aged|age of)\s+|年满|未满|不满)(\d{1,3})"
    r"|\b(\d{1,3})(?=[- ]years?[- ]old\b|\s+or\s+(?:older|younger|over|under)\b)"
    r"|(\d{1,3}|[一二两三四五六七八九十]{1,3})(?=周?岁)",
    re.I,
)


@perturbation("age")
def change_age(text: str, labels: tuple[str, ...], _all: tuple[str, ...]):
    """An age moved by two years ("age 16" -> "age 18", 年满十八周岁 -> 年满20周岁)."""
    match = _AGE.search(text)
    if match is None:
        return None
    group = next(g for g in (1, 2, 3) if match.group(g))
    raw = match.group(group)
    age = int(raw) if raw.isdigit() else textkit.cn_numeral(raw)
    if age is None:
        return None
    start, end = match.span(group)
    return text[:start] + str(int(age) + 2) + text[end:], labels


# Each phrase and its opposite side; the first one the sentence holds is swapped.
_CONDITION_SWAPS = (
    ("or older", "or younger"), ("or younger", "or older"), ("or more", "or less"),
    ("or less", "or more"), ("at least", "at most"), ("at most", "at least"),
    ("more than", "less than"), ("less than", "more than"), ("older than", "younger than"),
    ("younger than", "older than"), ("over", "under"), ("under", "over"), ("before", "after"),
    ("after", "before"), ("不少于", "不超过"), ("不超过", "不少于"), ("以上", "以下"),
    ("以下", "以上"), ("超过", "不足"), ("不足", "超过"), ("未满", "年满"), ("年满", "未满"),
    ("之前", "之后"), ("之后", "之前"), ("以前", "以后"), ("以后", "以前"),
)  # fmt: skip


def _swap_first(text: str, pairs: tuple[tuple[str, str], ...]) -> str | None:
    best: tuple[int, int, str] | None = None
    for phrase, other in pairs:
        pattern = rf"\b{re.escape(phrase)}\b" if phrase.isascii() else re.escape(phrase)
        match = re.search(pattern, text)
        # The earliest phrase wins; at one place the longer one ("or older" over "older").
        if match and (best is None or (match.start(), -(match.end())) < (best[0], -best[1])):
            best = (match.start(), match.end(), other)
    if best is None:
        return None
    return text[: best[0]] + best[2] + text[best[1] :]


@perturbation("condition")
def flip_condition(text: str, labels: tuple[str, ...], _all: tuple[str, ...]):
    """A condition turned to its other side ("16 or older" -> "16 or younger", 以上 -> 以下)."""
    changed = _swap_first(text, _CONDITION_SWAPS)
    return (changed, labels) if changed else None


_NEGATION_DROP = (
    ("cannot", "can"), ("can't", "can"), ("is not", "is"), ("are not", "are"),
    ("does not", "does"), ("do not", "do"), ("will not", "will"), ("may not", "may"),
    ("must not", "must"), ("should not", "should"), ("was not", "was"), ("not", ""),
    ("不得", "可以"), ("不能", "能"), ("不予", "予以"), ("无需", "需要"), ("无须", "必须"),
    ("没有", "有"), ("不是", "是"), ("不", ""),
)  # fmt: skip
_NEGATION_ADD = (
    ("can", "cannot"), ("is", "is not"), ("are", "are not"), ("may", "may not"),
    ("must", "must not"), ("will", "will not"), ("should", "should not"), ("was", "was not"),
    ("可以", "不得"), ("应当", "不得"), ("必须", "无须"), ("能够", "不能"), ("是", "不是"),
)  # fmt: skip


@perturbation("negation")
def toggle_negation(text: str, labels: tuple[str, ...], _all: tuple[str, ...]):
    """A negation dropped where the sentence has one, else added ("can" -> "cannot")."""
    negated = textkit.qualifiers_of(text).negated
    changed = _swap_first(text, _NEGATION_DROP if negated else _NEGATION_ADD)
    if changed is None:
        return None
    return re.sub(r"(?<=\S) {2,}(?=\S)", " ", changed), labels


@perturbation("wrong_passage")
def cite_another_passage(text: str, labels: tuple[str, ...], every: tuple[str, ...]):
    """The same sentence cited to another passage of the prompt (a small model's usual slip)."""
    others = [label for label in every if label not in labels]
    return (text, (others[0],)) if others else None


# --- The verifier's judgement -----------------------------------------------------------------


def _config() -> VerifierConfig:
    # As drafted: with re-citing, the product would move a wrongly cited sentence to its passage,
    # which is a repair, not an acceptance of what was written.
    return replace(verifier_config(), recite=False)


def _evidence(passages: list[tuple[str, str, str]]) -> dict[str, PassageEvidence]:
    return {
        label: PassageEvidence.of(label, text, document_title=title)
        for label, title, text in passages
    }


def _judge(
    text: str, labels: tuple[str, ...], evidence: dict[str, PassageEvidence], config
) -> Verdict:
    cited = [evidence[label] for label in labels if label in evidence]
    return claim_verify(as_claimed(text, cited) or text, labels, evidence, config=config)


def verdicts(answer: str, passages: list[tuple[str, str, str]]) -> list[Verdict]:
    """The verifier's verdict on each sentence of ``answer`` over ``passages``, as drafted."""
    evidence, config = _evidence(passages), _config()
    return [
        _judge(s.text, tuple(s.labels), evidence, config) for s in split_sentences(answer) if s.text
    ]


def perturbed(example: Example) -> tuple[str, dict] | None:
    """The target with one sentence changed so that the verifier rejects it, and what changed;
    None when no mechanism yields such a change. Mechanisms are tried in an order rotated per
    example, so the kept pairs spread over all of them."""
    sentences = [s for s in split_sentences(example.chosen) if s.text]
    if not sentences or example.chosen == REFUSAL_TOKEN:
        return None
    evidence, config = _evidence(example.passages), _config()
    every = tuple(label for label, _title, _text in example.passages)
    names = sorted(PERTURBATIONS)
    turn = _stable_key(example.id) % len(names)
    accepted: dict[int, bool] = {}
    for name in names[turn:] + names[:turn]:
        for i, sentence in enumerate(sentences):
            labels = tuple(sentence.labels)
            changed = PERTURBATIONS[name](sentence.text, labels, every)
            if changed is None or changed == (sentence.text, labels):
                continue
            if i not in accepted:
                accepted[i] = _judge(sentence.text, labels, evidence, config).supported
            if not accepted[i]:
                continue  # the original itself fails: the pair would not isolate the change
            verdict = _judge(changed[0], changed[1], evidence, config)
            if verdict.supported:
                continue
            parts = [(s.text, s.labels) for s in sentences]
            parts[i] = changed
            rejected = render_answer(parts, language=example.language)
            return rejected, {"rejected_by": f"perturb:{name}", "findings": list(verdict.codes)}
    return None


def refused(example: Example) -> tuple[str, dict] | None:
    """Refusing a question the passages answer."""
    if example.chosen == REFUSAL_TOKEN or not example.chosen:
        return None
    return REFUSAL_TOKEN, {"rejected_by": "refuse_answerable"}


def answered_anyway(example: Example, *, probe: str = "") -> tuple[str, dict] | None:
    """For a refusal example: the sentence of the nearest passage (label 1 first) closest to the
    question, cited, as if it answered (``probe``: the question in the passages' language, when
    it is asked in another)."""
    for label, _title, text in example.passages:
        found = best_sentences(probe or example.question, text)
        if found:
            answer = render_answer([(found[0], [label])], language=example.language)
            return answer, {"rejected_by": "answer_refusal"}
    return None
