"""GBNF grammars that force a model into the cited-answer format.

A small model asked to cite answers with "[2]" alone, copies its sources, or forgets markers
(../shared/MODELS.md). Constraining decoding makes the *format* certain, so the verifier only has to
judge content. The format, which ``portal/qa/sentences.py`` reads:

- 1..N sentences, each ending with one or more markers drawn from the passages actually given:
  ``Adults may renew by mail [1].`` or ``Adults may renew by mail. [1][3]``;
- or the single line ``NOT_IN_SOURCES`` (the model's way to say the passages do not answer).

Sentence text cannot contain brackets, line breaks or a sentence terminator (。！？；!? or a "."
followed by a space), so every sentence ends at its markers and none slips through uncited. A "."
followed by anything but a space is allowed, so "2.5 mg" and "U.S.A" survive. Nor can it contain
"_": then "NOT_IN_SOURCES" can only be the whole refusal line, never the start of a cited sentence
such as "NOT_IN_SOURCES. [1]" (which Qwen 0.5B writes when it half-refuses). The same format is
available as a regular expression (``citation_regex``) to check outputs in tests and evaluation.

``latin_only`` (for an answer in English) also keeps Chinese characters and full-width marks out
of the text: Qwen 0.5B drops a Chinese word into English sentences it copies ("...cancer (PC).我们
prospectively evaluated...", "然而, early intervention was not associated..."; PubMedQA dev), and
such a sentence is neither a quote nor good English.
"""

from __future__ import annotations

import re

from textkit import CJK_RANGES

REFUSAL = "NOT_IN_SOURCES"

# Characters that may never appear inside sentence text (see the module docstring).
_EXCLUDED = "[]【】［］\n.。！？!?；_"
_TERMINATORS = ".。！？!?；"
# What ``latin_only`` keeps out: Chinese characters (textkit's one class) plus CJK punctuation
# (U+3000-U+303F) and full-width forms (U+FF00-U+FFEF), as a regex class body ...
_CJK_RANGES_RE = CJK_RANGES + "\u3000-\u303f\uff00-\uffef"


def _gbnf_escaped_ranges(ranges: str) -> str:
    """``ranges`` (characters and "-" between them) as GBNF escapes: \\uXXXX, or \\UXXXXXXXX
    beyond the Basic Multilingual Plane (extension B)."""
    return "".join(
        c if c == "-" else (f"\\u{ord(c):04x}" if ord(c) <= 0xFFFF else f"\\U{ord(c):08x}")
        for c in ranges
    )


# ... and as GBNF escapes (llama.cpp reads \u and \U escapes in a character class).
_CJK_RANGES_GBNF = _gbnf_escaped_ranges(_CJK_RANGES_RE)


def _gbnf_literal(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _gbnf_class_chars(chars: str) -> str:
    escaped = []
    for c in chars:
        if c in "\\]^-[":
            escaped.append("\\" + c)
        elif c == "\n":
            escaped.append("\\n")
        else:
            escaped.append(c)
    return "".join(escaped)


def _check_labels(labels: list[str]) -> list[str]:
    cleaned = list(dict.fromkeys(str(label) for label in labels))
    if not cleaned:
        raise ValueError("citation_grammar needs at least one passage label")
    for label in cleaned:
        if not label or any(c in label for c in "[]\n"):
            raise ValueError(f"passage label {label!r} cannot be written as a [label] marker")
    return cleaned


def _nested_optional(first: str, then: str, extra: int) -> str:
    """``first (then (then ...)?)?`` with ``extra`` optional repeats, spelled out.

    Written out instead of ``{0,n}`` so the grammar also works in GBNF dialects without bounded
    repetition (older llama.cpp servers, vLLM's grammar backends).
    """
    tail = ""
    for _ in range(extra):
        tail = f"({then}{(' ' + tail) if tail else ''})?"
    return f"{first} {tail}".strip()


def citation_grammar(labels: list[str], max_sentences: int = 3, *, latin_only: bool = False) -> str:
    """GBNF for 1..max_sentences cited sentences, or the refusal line ``NOT_IN_SOURCES``."""
    cleaned = _check_labels(labels)
    if max_sentences < 1:
        raise ValueError("max_sentences must be at least 1")
    excluded = _gbnf_class_chars(_EXCLUDED) + (_CJK_RANGES_GBNF if latin_only else "")
    label_rule = " | ".join(_gbnf_literal(label) for label in cleaned)
    max_markers = min(len(cleaned), 3)  # "[1][1][1]..." would otherwise loop until max_tokens
    rules = [
        f"root ::= answer | {_gbnf_literal(REFUSAL)}",
        "answer ::= " + _nested_optional("sentence", "sep sentence", max_sentences - 1),
        # Either "text [1]." (markers, then optional terminator) or "text. [1]".
        'sentence ::= text ( " "? cites end? | end " "? cites )',
        "sep ::= [ \\n]?",
        "text ::= first rest*",
        # No leading space: the sentence starts with a word, so "[2]" alone is impossible.
        f"first ::= [^ {excluded}]",
        f'rest ::= [^{excluded}] | "." [^ {excluded}]',
        "cites ::= " + _nested_optional("cite", "cite", max_markers - 1),
        'cite ::= "[" label "]"',
        f"label ::= {label_rule}",
        f"end ::= [{_gbnf_class_chars(_TERMINATORS)}]",
    ]
    return "\n".join(rules) + "\n"


def citation_regex(
    labels: list[str], max_sentences: int = 3, *, latin_only: bool = False
) -> re.Pattern[str]:
    """The language of ``citation_grammar`` as a regular expression (for checks, not decoding)."""
    cleaned = _check_labels(labels)
    excluded = re.escape(_EXCLUDED) + (_CJK_RANGES_RE if latin_only else "")
    label = "(?:" + "|".join(re.escape(x) for x in cleaned) + ")"
    max_markers = min(len(cleaned), 3)
    cites = rf"(?:\[{label}\]){{1,{max_markers}}}"
    end = f"[{re.escape(_TERMINATORS)}]"
    text = rf"[^ {excluded}](?:[^{excluded}]|\.[^ {excluded}])*"
    sentence = rf"{text}(?: ?{cites}{end}?|{end} ?{cites})"
    answer = rf"{sentence}(?:[ \n]?{sentence}){{0,{max_sentences - 1}}}"
    return re.compile(rf"(?:{answer}|{re.escape(REFUSAL)})")


def conforms(
    text: str, labels: list[str], max_sentences: int = 3, *, latin_only: bool = False
) -> bool:
    return citation_regex(labels, max_sentences, latin_only=latin_only).fullmatch(text) is not None
