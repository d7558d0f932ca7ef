"""Last-line redaction of personal data in audit details.

Callers put ids and counts in ``detail``, not free text; this is the safety net for a string that
slips through (an error message quoting a file name, say). It uses the product's PII redactor
(``portal.safety.pii.redact``) when that module is installed, and otherwise a small built-in set
of patterns: e-mail addresses, PRC resident ID numbers, and phone/card-like digit runs. Over-
redacting an audit detail costs nothing; leaking a phone number into a 6-year record does.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from functools import cache
from typing import Any

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Lookarounds instead of \b: Chinese characters count as word characters, so "证号110105..."
# has no word boundary before the digits.
_PRC_ID = re.compile(r"(?<![0-9A-Za-z])(?:\d{17}[\dXx]|\d{15})(?![0-9A-Za-z])")
_DIGIT_RUN = re.compile(r"(?<![0-9A-Za-z])\+?\d[\d\s().-]{5,}\d(?![0-9A-Za-z])")
_MIN_DIGITS = 7  # phone numbers, bank cards, record numbers; short numbers (years, ids) stay
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")  # dates are not personal data on their own


def _digit_run(match: re.Match[str]) -> str:
    found = match.group(0)
    if _DATE.fullmatch(found) or sum(ch.isdigit() for ch in found) < _MIN_DIGITS:
        return found
    return "[NUMBER]"


def _builtin_redact(text: str) -> str:
    text = _EMAIL.sub("[EMAIL]", text)
    text = _PRC_ID.sub("[ID_NUMBER]", text)
    return _DIGIT_RUN.sub(_digit_run, text)


@cache
def _redactor() -> Callable[[str], str]:
    try:
        module = importlib.import_module("portal.safety.pii")
    except ImportError:
        return _builtin_redact
    with_findings = getattr(module, "redact_with_findings", None)
    if callable(with_findings):
        # Its pattern recognizers only: audit details hold codes and ids, not prose, so loading
        # the spaCy name model or the LLM name tagger into every process that records an event
        # would buy nothing.
        def product(text: str) -> str:
            return with_findings(text, use_presidio=False, use_tagger=False)[0]

    elif callable(getattr(module, "redact", None)):
        product = module.redact
    else:
        return _builtin_redact

    def both(text: str) -> str:
        # The built-in patterns run after the product's: they are cheap and catch digit runs
        # (an address, an unchecksummed number) the product's recognizers let through.
        return _builtin_redact(product(text))

    return both


def redact_text(text: str) -> str:
    return _redactor()(text)


def redact_value(value: Any) -> Any:
    """``value`` with every string inside it (dict values, list items) redacted."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {key: redact_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(item) for item in value]
    return value
