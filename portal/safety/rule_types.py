"""The rule record shared by the rule tables."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    code: str  # unsafe | injection | out_of_scope | crisis | emergency | framing
    category: str
    pattern: re.Pattern
    weight: float
    needs_intent: bool = False
    detail: str = ""
    # Whether a legitimate framing (symptoms, law, prevention...) lowers the score. Object-type
    # rules are topical and mitigable; complete-intent rules ("symptoms should I fake") are not.
    mitigable: bool = False


def rule(code, category, pattern, weight=1.0, *, intent=False, detail="", mitigable=None):
    mitigable = intent if mitigable is None else mitigable
    return Rule(code, category, re.compile(pattern), weight, intent, detail or category, mitigable)
