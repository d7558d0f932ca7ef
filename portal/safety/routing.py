"""Risk routing: one decision from the input guard, the output guard and verification.

Order (first match wins), every step leaving its reasons on the decision:
1. the input guard refused, or the output guard refused (canary / prompt leak) -> refuse;
2. a reason whose code or code.category is in SAFETY_HOLD_CATEGORIES (default: medical risk,
   indirect injection, sensitive.hold), or fewer than SAFETY_MIN_SUPPORTED_RATIO of the draft's
   sentences verified, or every sentence blocked -> hold for review;
3. answers that state a dose are held when SAFETY_HOLD_DOSE_ANSWERS is on; by default a dose its
   cited passage states is published with a caution (the passage is an official guideline, and
   holding every dosage answer would make the service useless for the commonest medical
   questions), while a dose the passage does not state never reaches the reader (step 2);
4. any caution (crisis, emergency symptoms, supported dose, sensitive.caution) -> publish with a
   caution line (and the emergency notice first);
5. otherwise publish.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings

from portal.safety import guidance
from portal.safety.results import Decision, GuardResult, OutputGuardResult, Reason


def _summary_value(summary: Any, *names: str) -> Any:
    for name in names:
        if isinstance(summary, Mapping) and name in summary:
            return summary[name]
        if hasattr(summary, name):
            return getattr(summary, name)
    return None


def _supported_ratio(summary: Any) -> float | None:
    """Reads ``supported_ratio`` or ``supported``/``total`` from a mapping or an object."""
    if summary is None:
        return None
    ratio = _summary_value(summary, "supported_ratio")
    if ratio is not None:
        return float(ratio)
    supported = _summary_value(summary, "supported", "n_supported")
    total = _summary_value(summary, "total", "drafted", "n_sentences", "sentences")
    if isinstance(total, (list, tuple)):
        total = len(total)
    if supported is None or not total:
        return None
    if isinstance(supported, (list, tuple)):
        supported = len(supported)
    return float(supported) / float(total)


def _held(reason: Reason, hold: set[str]) -> bool:
    return (
        reason.code in hold or f"{reason.code}.{reason.category}" in hold or reason.category in hold
    )


def route(
    input_result: GuardResult | None,
    output_result: OutputGuardResult | None = None,
    verification_summary: Any = None,
    *,
    n_sentences: int | None = None,
) -> Decision:
    language = input_result.language if input_result else "en"
    reasons: list[Reason] = list(input_result.reasons if input_result else ())
    if output_result:
        reasons += output_result.reasons
    notice = (output_result.emergency_notice if output_result else None) or (
        input_result.emergency_notice if input_result else None
    )

    if input_result and input_result.action == "refuse":
        return Decision(
            "refuse",
            tuple(reasons),
            input_result.refusal_reason,
            guidance=input_result.guidance,
            emergency_notice=notice,
        )
    if output_result and output_result.action == "refuse":
        reason = output_result.refusal_reason or "unsafe"
        return Decision(
            "refuse",
            tuple(reasons),
            reason,
            guidance=guidance.refusal_guidance(reason, language),
            emergency_notice=notice,
        )

    hold_set = set(settings.SAFETY_HOLD_CATEGORIES)
    why_hold = [r for r in reasons if _held(r, hold_set)]
    ratio = _supported_ratio(verification_summary)
    if ratio is not None and ratio < settings.SAFETY_MIN_SUPPORTED_RATIO:
        why_hold.append(
            Reason(
                "verification",
                "low_support",
                f"only {ratio:.0%} of the sentences were verified against their passages",
            )
        )
    if output_result and n_sentences and len(output_result.blocked_sentence_indexes) >= n_sentences:
        why_hold.append(Reason("verification", "all_blocked", "every sentence was blocked"))
    if settings.SAFETY_HOLD_DOSE_ANSWERS and any(r.code == "medical_dose" for r in reasons):
        why_hold.append(
            Reason(
                "medical_risk",
                "dose_review",
                "answers stating a dose are reviewed (SAFETY_HOLD_DOSE_ANSWERS)",
            )
        )
    if input_result and input_result.action == "hold" and not why_hold:
        why_hold.append(Reason("sensitive", "hold", "the sensitive-term lexicon asks for review"))
    if why_hold:
        extra = [r for r in why_hold if r not in reasons]
        return Decision(
            "hold",
            tuple(reasons + extra),
            "held",
            emergency_notice=notice,
            guidance=input_result.guidance if input_result else "",
        )

    caution = (
        (input_result and input_result.action == "caution")
        or (output_result and output_result.action == "caution")
        or notice
    )
    if caution:
        return Decision(
            "publish_with_caution",
            tuple(reasons),
            None,
            guidance=input_result.guidance if input_result else "",
            emergency_notice=notice,
            caution=guidance.caution_text(language),
        )
    return Decision("publish", tuple(reasons), None)
