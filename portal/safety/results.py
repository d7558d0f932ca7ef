"""The value types the guards return; the answer pipeline reads these (see services.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

# Reason codes that count as *safety* refusals in the evaluation (the rest are scope/support).
SAFETY_REFUSALS = ("unsafe", "injection", "sensitive")
REFUSAL_REASONS = ("unsafe", "injection", "sensitive", "out_of_scope", "no_support", "held")


@dataclass(frozen=True)
class Reason:
    code: (
        str  # injection | unsafe | sensitive | out_of_scope | pii | medical_risk | emergency | ...
    )
    category: str  # finer label, e.g. "jailbreak", "self_harm", "dose_mismatch"
    detail: str  # explainable, human readable, never containing raw personal data
    score: float = 1.0

    def as_dict(self) -> dict:
        return {
            "code": self.code,
            "category": self.category,
            "detail": self.detail,
            "score": round(self.score, 3),
        }


@dataclass(frozen=True)
class GuardResult:
    action: str  # "allow" | "caution" | "hold" | "refuse"
    reasons: tuple[Reason, ...]
    redacted_text: str  # input with personal data replaced by placeholders like <PHONE>
    language: str  # "zh" | "en"
    refusal_reason: str | None  # unsafe | injection | sensitive | out_of_scope when refused
    guidance: str = ""  # what to tell the citizen instead / where to go (in `language`)
    emergency_notice: str | None = None  # shown first when the question mentions an emergency
    pii_kinds: tuple[str, ...] = ()  # kinds redacted, e.g. ("PHONE", "PRC_ID")
    elapsed_ms: float = 0.0
    # The learned heads' scores and whether the context check is due (learned.Verdict.summary).
    learned: dict = field(default_factory=dict)

    @property
    def context_check(self) -> bool:
        return bool(self.learned.get("context_check"))

    def as_dict(self) -> dict:
        return {
            "action": self.action,
            "reasons": [r.as_dict() for r in self.reasons],
            "language": self.language,
            "refusal_reason": self.refusal_reason,
            "pii_kinds": list(self.pii_kinds),
            "learned": self.learned,
        }


@dataclass(frozen=True)
class OutputGuardResult:
    action: str  # "allow" | "caution" | "hold" | "refuse"
    reasons: tuple[Reason, ...]
    blocked_sentence_indexes: tuple[int, ...]
    emergency_notice: str | None
    refusal_reason: str | None = None

    def as_dict(self) -> dict:
        return {
            "action": self.action,
            "reasons": [r.as_dict() for r in self.reasons],
            "blocked_sentence_indexes": list(self.blocked_sentence_indexes),
            "emergency_notice": self.emergency_notice,
            "refusal_reason": self.refusal_reason,
        }


@dataclass(frozen=True)
class Decision:
    action: str  # "publish" | "publish_with_caution" | "hold" | "refuse"
    reasons: tuple[Reason, ...]
    refusal_reason: str | None = None
    guidance: str = ""
    emergency_notice: str | None = None
    caution: str = ""  # the caution line shown above a published answer
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "action": self.action,
            "reasons": [r.as_dict() for r in self.reasons],
            "refusal_reason": self.refusal_reason,
        }
