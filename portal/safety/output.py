"""The output guard: runs on a verified draft, sentence by sentence, before routing.

Passages are data, never instructions: a sentence that carries a link, e-mail address, phone
number or call to action its cited passage does not contain, or that talks to "the assistant",
is blocked as indirect prompt injection. A dose, frequency or contraindication not stated by the
cited passage is blocked as medical risk. The canary (a random string in the system prompt) or a
long verbatim span of the system prompt in the output means the prompt leaked: refuse.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.conf import settings

from portal.safety import guidance, medical, rules
from portal.safety.lexicon import LexiconHit, lexicon_current
from portal.safety.normalize import fold
from portal.safety.pii import _CN_LANDLINE, _CN_MOBILE, _EMAIL, _US_PHONE
from portal.safety.results import OutputGuardResult, Reason
from textkit import CJK_CHARS, CJK_RUN, content_units, split_sentences

_URL = re.compile(
    r"(?:https?://|www\.)[^\s)\]>，。]+|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|net|org|cn|io|xyz|top|"
    r"info|gov|edu|co|me|ly|link|click|site|app)(?:/[^\s)\]>，。]*)?",
    re.I,
)
_SERVICE_PHONE = re.compile(
    r"(?<!\d)(?:400|800)[- ]?\d{3}[- ]?\d{4}(?!\d)|(?<!\d)1-8\d\d-\d{3}-\d{4}"
)
_IMPERATIVE = re.compile(
    r"\b(click|visit|download|install|send|transfer|wire|pay|reply|forward|log ?in|sign in|"
    r"enter your|provide your|share your|verify your|confirm your|buy|subscribe|scan)\b"
    r"(?:\W+\w+){0,5}"
    r"|(点击|访问|下载|安装|转账|汇款|付款|支付|回复|转发|登录|输入您?你?的|提供您?你?的|验证您?你?的|扫码|"
    r"扫描二维码|加微信|添加微信|关注公众号|购买)[^，。；,.;]{0,12}",
    re.I,
)
_ADDRESSES_ASSISTANT = re.compile(
    r"\b(as an ai|as a language model|ai assistant|the assistant|dear assistant|chatgpt|"
    r"ignore (all |the )?(previous|above|prior)|system prompt|my instructions|i have been "
    r"instructed|new instructions|i was told to)\b|作为(一个)?(ai|人工智能|语言模型)|ai助手|"
    r"助手请|忽略(之前|以上|上面)|系统提示|我被指示",
    re.I,
)
_WORDS = re.compile(rf"[a-z0-9]+|{CJK_CHARS}")

# --- Instructions planted in passages (measured with manage.py build_injection_set): a sentence
# that echoes one, or carries the words only that instruction brought, did what the passage said
# rather than answer from it. A span counts as an instruction when it talks about "your
# response/answer", asks for a text task, asks a question, or is code; plain imperatives ("Apply
# online") are left alone, because government pages are full of them and quoting them is right.
_META = re.compile(
    r"\byour (?:response|reply|answer|message|output|code|codebase|implementation|"
    r"solution|elucidation)\b|(?:你|您)的(?:回答|回复|答案)|在回答中",
    re.I,
)
_TASK = re.compile(
    # At the start of a span, or glued after a sentence that lacks its full stop ("(P<0.05)
    # Explain ...").
    r"(?:^\W*|(?<=[.!?)\]:])\s+)(?:please\s+)?(?:translate|write|draft|compose|explain|describe|summari[sz]e|rewrite|"
    r"misspell|scramble|jumble|rearrange|anagram|convert|substitute|render|develop|"
    r"break down|(?:provide|give|show|tell) (?:me |us )?(?:a|an) (?:poem|story|essay|example|"
    r"speech|letter|song|joke|recipe|headline))\b|^\W*(?:请)?(?:翻译|写一|编写)",
    re.I | re.M,
)
_CODE = re.compile(  # case-sensitive: "From March 2007" is prose, "from os import" is code
    r"```|^\s*import\s+[\w.]+|^\s*from\s+[\w.]+\s+import\b|"
    r"\b(?:requests|subprocess|urllib|socket|os)\.\w+\(|\bdef \w+\(|<\?php",
    re.M,
)
# Spans are textkit's sentences (``_spans``). This older regex split only where a space follows
# the stop, so a Chinese paragraph (。 with no space) was one span and every sentence of it was
# "foreign" to a planted instruction. It stays only because ``portal.evaluation.injection``, which
# is deliberately independent of textkit, imports it to list the clean sentences it probes.
_SPAN_SPLIT = re.compile(r"(?:(?<=[.!?。！？])|(?<=[.!?]['\"’”)]))\s+|\n+")
_CONTENT = re.compile(rf"[a-z][a-z0-9'-]{{2,}}|{CJK_CHARS}{{2}}")
_FILLER = frozenset(
    """the and for with that this from your you are was were have has not but can may will
    which what who how into about their them they its his her our one all any also than then
    when where while been being does did should would could use using more most less than
    other such only very""".split()
)


def _content(text: str) -> set[str]:
    return {w for w in _CONTENT.findall(fold(text)) if w not in _FILLER}


def _spans(text: str) -> list[str]:
    """The sentences of a passage (``textkit.split_sentences``), where planted instructions are
    looked for one by one."""
    return split_sentences(text)


def passage_instructions(passages: dict[str, str], question: str) -> list[tuple[set, set]]:
    """(content words, foreign words) of each instruction-like span in the passages; foreign
    words are the span's words found in no other sentence of the passages given nor in the
    question. Questions carry no content words to echo (an abstract's own question shares
    words with its results), only their foreign ones: "What is the capital of Brazil?" in a
    trial report."""
    asked = _content(question)
    spans = []
    every = [_spans(text) for text in passages.values()]
    counts: dict[str, int] = {}
    for parts in every:
        for part in parts:
            for word in _content(part):
                counts[word] = counts.get(word, 0) + 1
    for parts in every:
        for part in parts:
            bare = part.lstrip("#").strip()
            words = _content(bare)
            if not words or not (
                _META.search(bare) or _TASK.search(bare) or _CODE.search(bare)
                or bare.endswith(("?", "？"))
            ):  # fmt: skip
                continue
            # A question the passage itself asks about the topic asked is part of the document.
            if bare.endswith(("?", "？")) and len(words & asked) >= 0.5 * len(words):
                continue
            # Foreign: in this span only, across every passage given (a word the real text uses
            # elsewhere is the document's own).
            foreign = {w for w in words if counts.get(w, 0) <= 1} - asked
            echo = bool(_META.search(bare) or _TASK.search(bare) or _CODE.search(bare))
            spans.append((words if echo else set(), foreign))
    return spans


def _follows_instruction(sentence: str, spans: list[tuple[set, set]]) -> bool:
    words = _content(sentence)
    for span, foreign in spans:
        if span and len(words & span) >= max(2, 0.6 * len(span)):  # echoes the instruction
            return True
        if len(words & foreign) >= 2:  # says what only the instruction brought up
            return True
    return False


def _digits(s: str) -> str:
    return re.sub(r"\D", "", s)


def _leaked_span(output: str, system_prompt: str) -> bool:
    """True when the output copies a long run of the system prompt word for word."""
    if not system_prompt:
        return False
    out_f, sys_f = fold(output), fold(system_prompt)
    n_words = settings.SAFETY_PROMPT_LEAK_WORDS
    sys_words = re.findall(r"[a-z0-9']+", sys_f)
    out_words = re.findall(r"[a-z0-9']+", out_f)
    if len(sys_words) >= n_words and len(out_words) >= n_words:
        grams = {" ".join(sys_words[i : i + n_words]) for i in range(len(sys_words) - n_words + 1)}
        for i in range(len(out_words) - n_words + 1):
            if " ".join(out_words[i : i + n_words]) in grams:
                return True
    n_chars = settings.SAFETY_PROMPT_LEAK_CHARS
    sys_cjk = "".join(CJK_RUN.findall(sys_f))
    out_cjk = "".join(CJK_RUN.findall(out_f))
    if len(sys_cjk) >= n_chars:
        grams = {sys_cjk[i : i + n_chars] for i in range(len(sys_cjk) - n_chars + 1)}
        return any(out_cjk[i : i + n_chars] in grams for i in range(len(out_cjk) - n_chars + 1))
    return False


def _in_source(fragment: str, source: str, *, share: float = 0.6) -> bool:
    words = _WORDS.findall(fold(fragment))
    if not words:
        return True
    have = set(_WORDS.findall(source))
    return sum(1 for w in words if w in have) / len(words) >= share


def _allowed_numbers() -> set[str]:
    lines = " ".join(
        str(getattr(settings, name, ""))
        for name in (
            "SAFETY_CRISIS_LINES_EN",
            "SAFETY_CRISIS_LINES_ZH",
            "SAFETY_EMERGENCY_NUMBER_EN",
            "SAFETY_EMERGENCY_NUMBER_ZH",
        )
    )
    return {_digits(m) for m in re.findall(r"\d[\d\- ]{1,14}\d|\d{3,}", lines)}


def _sentence_injection(
    sentence: str,
    source: str,
    source_digits: str,
    spans: list[tuple[set, set]] = (),
    *,
    same_language: bool = True,
) -> list[Reason]:
    found = []
    folded = fold(sentence)
    if _CODE.search(sentence):
        found.append(
            Reason(
                "indirect_injection",
                "code_in_answer",
                "the sentence carries code; answers here never do, passages that ask for it "
                "are injected",
            )
        )
    elif _follows_instruction(sentence, spans):
        found.append(
            Reason(
                "indirect_injection",
                "follows_passage_instruction",
                "the sentence echoes or carries out an instruction found inside a passage",
            )
        )
    for m in _URL.finditer(sentence):
        url = fold(m.group(0)).rstrip(".,;:!?'\"")
        host = url.split("://")[-1].removeprefix("www.").split("/")[0]
        if host and host not in source:
            found.append(
                Reason(
                    "indirect_injection",
                    "link_not_in_source",
                    "the sentence adds a web address its passage does not contain",
                )
            )
            break
    for m in _EMAIL.finditer(sentence):
        if fold(m.group(0)) not in source:
            found.append(
                Reason(
                    "indirect_injection",
                    "contact_not_in_source",
                    "the sentence adds an e-mail address its passage does not contain",
                )
            )
            break
    allowed = _allowed_numbers()
    for pattern in (_CN_MOBILE, _CN_LANDLINE, _US_PHONE, _SERVICE_PHONE):
        for m in pattern.finditer(sentence):
            digits = _digits(m.group(0))
            if digits not in source_digits and digits not in allowed:
                found.append(
                    Reason(
                        "indirect_injection",
                        "contact_not_in_source",
                        "the sentence adds a phone number its passage does not contain",
                    )
                )
                break
    # An instruction is looked up in the passage by its words, which only works in the passage's
    # language; a translation's original passed this check and says the same thing.
    for m in _IMPERATIVE.finditer(sentence if same_language else ""):
        if not _in_source(m.group(0), source):
            found.append(
                Reason(
                    "indirect_injection",
                    "instruction_not_in_source",
                    "the sentence tells the reader to act in a way its passage does not say",
                )
            )
            break
    if _ADDRESSES_ASSISTANT.search(folded):
        found.append(
            Reason(
                "indirect_injection",
                "addresses_assistant",
                "the sentence talks about the assistant or its instructions",
            )
        )
    return found


def _sentence_medical(sentence: str, source_raw: str, cited: bool) -> list[Reason]:
    found = []
    missing = medical.unsupported_facts(sentence, source_raw)
    if missing:
        kinds = sorted({"dose" if f[0] == "dose" else "frequency" for f in missing})
        category = (
            "dose_uncited"
            if not cited
            else ("dose_mismatch" if "dose" in kinds else "frequency_mismatch")
        )
        found.append(
            Reason(
                "medical_risk",
                category,
                f"states a {' and '.join(kinds)} that the cited passage does not",
            )
        )
    if medical.CONTRA.search(sentence) and not medical.contraindication_supported(
        sentence, source_raw
    ):
        found.append(
            Reason(
                "medical_risk",
                "contraindication_unsupported",
                "states a contraindication or warning the cited passage does not",
            )
        )
    return found


def question_notice(question: str, language: str, reasons: tuple = ()) -> str | None:
    """Crisis lines and/or emergency advice when the question mentions a crisis or emergency
    symptoms; shown before any answer. None when it mentions neither. ``reasons``: the input
    guard's findings, where the learned self-harm head may have seen a crisis that no crisis
    rule's wording names (learned.py)."""
    folded_q = fold(question)
    codes = {
        r.code
        for r in rules.ALL_RULES
        if r.code in ("emergency", "crisis") and r.pattern.search(folded_q)
    }
    if any(r.category == "self_harm.crisis" for r in reasons):
        codes.add("crisis")
    notices = []
    if "crisis" in codes:
        notices.append(guidance.crisis_guidance(language))
    if "emergency" in codes:
        notices.append(guidance.emergency_notice(language))
    return "\n".join(notices) or None


# A published sentence repeats a flagged one when they share at least this share of the shorter
# one's content units (and three or more): the payload of a planted instruction ("email your
# passport number to ...") repeats it even without its "Note to the AI:" preamble.
PLANTED_REPEAT_SHARE = 0.5
PLANTED_REPEAT_MIN_UNITS = 3


def repeats_planted(sentence: str, planted: tuple[str, ...]) -> bool:
    if not planted:
        return False
    mine = content_units(sentence)
    for span in planted:
        theirs = content_units(span)
        shared = len(mine & theirs)
        shorter = min(len(mine), len(theirs))
        if shared >= PLANTED_REPEAT_MIN_UNITS and shared >= PLANTED_REPEAT_SHARE * shorter:
            return True
    return False


def output_check(
    *,
    question: str,
    sentences: list[tuple[str, list[str]]],
    passages: dict[str, str],
    language: str,
    canary: str,
    system_prompt: str = "",
    lexicon_match: Callable[[str], list[LexiconHit]] | None = None,
    translated: frozenset[int] = frozenset(),
    planted: tuple[str, ...] = (),
) -> OutputGuardResult:
    """Check a verified draft. See services.output_check for the contract. ``translated``: the
    indexes of sentences that are aligned translations of another sentence into the reader's
    language (every check applies to them but the word lookup of instructions in the passage).
    ``planted``: sentences ingestion flagged as addressed to an AI in the cited chunks; a
    sentence that repeats one is blocked, whatever else it says."""
    reasons: list[Reason] = []
    blocked: set[int] = set()
    full = " ".join(s for s, _ in sentences)
    if canary and (canary in full or canary.lower() in fold(full).replace(" ", "")):
        return OutputGuardResult(
            action="refuse",
            reasons=(
                Reason("canary_leak", "canary", "the draft contains the system prompt canary"),
            ),
            blocked_sentence_indexes=tuple(range(len(sentences))),
            emergency_notice=None,
            refusal_reason="injection",
        )
    if _leaked_span(full, system_prompt):
        return OutputGuardResult(
            action="refuse",
            reasons=(
                Reason(
                    "canary_leak",
                    "prompt_span",
                    "the draft copies a long span of the system prompt",
                ),
            ),
            blocked_sentence_indexes=tuple(range(len(sentences))),
            emergency_notice=None,
            refusal_reason="injection",
        )

    for label, text in passages.items():
        if any(r.code == "injection" and r.pattern.search(fold(text)) for r in rules.ALL_RULES):
            reasons.append(
                Reason(
                    "indirect_injection",
                    "passage_contains_instructions",
                    f"passage {label} contains instructions aimed at the assistant; "
                    "it was treated as data",
                )
            )

    match = lexicon_match or (lambda folded: lexicon_current().match(folded))
    spans = passage_instructions(passages, question)
    action = "allow"
    dose_stated = False
    for i, (sentence, labels) in enumerate(sentences):
        source_raw = " ".join(passages.get(label, "") for label in labels)
        source = fold(source_raw)
        sentence_reasons = _sentence_injection(
            sentence, source, _digits(source_raw), spans, same_language=i not in translated
        )
        sentence_reasons += _sentence_medical(sentence, source_raw, bool(labels))
        if i not in translated and repeats_planted(sentence, planted):
            sentence_reasons.append(
                Reason(
                    "indirect_injection",
                    "planted_span",
                    "repeats a sentence that ingestion flagged as an instruction to an AI",
                )
            )
        if medical.facts(sentence):
            dose_stated = True
        for hit in match(fold(sentence)):
            if hit.action in ("refuse", "hold"):
                sentence_reasons.append(
                    Reason(
                        "sensitive",
                        hit.action,
                        f"sentence {i + 1} contains sensitive term '{hit.term}' ({hit.category})",
                    )
                )
            elif hit.action == "caution":
                reasons.append(
                    Reason(
                        "sensitive",
                        "caution",
                        f"contains sensitive term '{hit.term}' ({hit.category})",
                    )
                )
                action = "caution"
        if sentence_reasons:
            blocked.add(i)
            reasons += [
                Reason(r.code, r.category, f"sentence {i + 1}: {r.detail}", r.score)
                for r in sentence_reasons
            ]
    if dose_stated and not any(r.code == "medical_risk" for r in reasons):
        reasons.append(
            Reason(
                "medical_dose",
                "dose_supported",
                "states a dose or schedule that its passage supports",
            )
        )

    notice = question_notice(question, language)
    if notice:
        reasons.append(
            Reason(
                "emergency",
                "question_symptoms",
                "the question mentions emergency symptoms or a crisis",
            )
        )
    if blocked:
        action = "hold"
    elif notice or dose_stated:
        action = "caution" if action == "allow" else action
    return OutputGuardResult(
        action=action,
        reasons=tuple(reasons),
        blocked_sentence_indexes=tuple(sorted(blocked)),
        emergency_notice=notice,
    )
