"""The input guard: runs before retrieval on every question.

Steps, each cheap: fold and decode the text (normalize.views), score the rules on every view
(rules.py), score the learned heads on the question's embedding (learned.py: harm, medication
risk), match the sensitive-term lexicon, find personal data (pii.py), then choose one action with
explainable reasons. No generative model call, no network.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable

from django.conf import settings

from portal.safety import guidance, learned, rules
from portal.safety.lexicon import LexiconHit, lexicon_current
from portal.safety.normalize import language_detect, views
from portal.safety.pii import redact_with_findings
from portal.safety.results import GuardResult, Reason

_PLAIN_VARIANTS = ("plain", "leetspeak")
_ACTION_RANK = {"allow": 0, "caution": 1, "hold": 2, "refuse": 3}
# When several refusal reasons apply, the one shown is the most serious.
_REFUSAL_PRIORITY = ("unsafe", "injection", "sensitive", "out_of_scope")


def _score_hits(hits: list[rules.Hit], text_by_variant: dict[str, str]) -> dict:
    """{(code, category): (score, variant, detail)} for the rule hits of one question."""
    by_key: dict[tuple[str, str], list[rules.Hit]] = defaultdict(list)
    for hit in hits:
        by_key[(hit.rule.code, hit.rule.category)].append(hit)
    framed = any(h.rule.code == "framing" for h in hits)
    scored = {}
    for key, group in by_key.items():
        code = key[0]
        if code == "framing":
            continue
        best, best_hit = -1.0, group[0]
        for hit in group:
            text = text_by_variant[hit.variant]
            weight = hit.rule.weight
            if hit.rule.needs_intent:
                weight = weight + 0.3 if rules.INTENT.search(text) else weight * 0.6
            if weight > best:
                best, best_hit = weight, hit
        distinct = {h.rule.pattern.pattern for h in group}
        score = best + min(0.2, 0.1 * (len(distinct) - 1))
        if code == "unsafe":
            text = text_by_variant[best_hit.variant]
            if best_hit.rule.mitigable and rules.MITIGATION.search(text):
                score -= settings.SAFETY_MITIGATION
            if framed:
                score += 0.15
        scored[key] = (score, best_hit.variant, best_hit.rule.detail)
    return scored


def input_check(
    text: str,
    *,
    language: str | None = None,
    lexicon_match: Callable[[str], list[LexiconHit]] | None = None,
    known_terms: frozenset[str] = frozenset(),
) -> GuardResult:
    """Check a question before retrieval. See services.input_check for the contract.

    ``known_terms``: words of the knowledge base's titles and collection names
    (``pii.known_terms_from``), which the redactor never takes for a person's name."""
    started = time.perf_counter()
    language = language or language_detect(text)
    redacted, findings = redact_with_findings(text, language=language, known_terms=known_terms)
    seen = views(text)
    text_by_variant = dict(seen.all_texts())
    hits: list[rules.Hit] = []
    for variant, value in seen.all_texts():
        hits += rules.rules_match(value, variant)
    scored = _score_hits(hits, text_by_variant)

    refuse_at = settings.SAFETY_REFUSE_SCORE
    caution_at = settings.SAFETY_CAUTION_SCORE
    enabled = set(settings.SAFETY_UNSAFE_CATEGORIES)
    reasons: list[Reason] = []
    action = "allow"
    refusal: str | None = None
    refusal_category = ""

    def escalate(new_action: str, reason: str | None = None, category: str = "") -> None:
        nonlocal action, refusal, refusal_category
        if _ACTION_RANK[new_action] > _ACTION_RANK[action]:
            action = new_action
        if reason and (
            refusal is None or _REFUSAL_PRIORITY.index(reason) < _REFUSAL_PRIORITY.index(refusal)
        ):
            refusal, refusal_category = reason, category

    framed = any(h.rule.code == "framing" for h in hits)
    encoded_attack = False
    for (code, category), (score, variant, detail) in sorted(
        scored.items(), key=lambda kv: -kv[1][0]
    ):
        decoded = variant.split("+")[0] not in _PLAIN_VARIANTS
        how = f" (found after decoding {variant})" if decoded else ""
        if code == "unsafe":
            if category not in enabled or score < caution_at:
                continue
            reasons.append(Reason("unsafe", category, detail + how, score))
            if score >= refuse_at:
                escalate("refuse", "unsafe", category)
                encoded_attack |= decoded
                if framed:
                    reasons.append(
                        Reason(
                            "injection",
                            "jailbreak.roleplay",
                            "harmful request wrapped in role-play or fiction",
                        )
                    )
            else:
                escalate("caution")
        elif code == "injection":
            if score >= refuse_at:
                reasons.append(Reason("injection", category, detail + how, score))
                escalate("refuse", "injection", category)
                encoded_attack |= decoded
        elif code == "crisis" or code == "emergency":
            reasons.append(Reason("emergency", category, detail, score))
            escalate("caution")
        elif code == "out_of_scope" and settings.SAFETY_OUT_OF_SCOPE and not decoded:
            # A question about the service's subject that mentions a poem, code or stocks
            # ("is telling dirty jokes at work harassment?") is not a request for them.
            anchored = rules.SCOPE_ANCHOR.search(seen.folded)
            if not anchored:
                reasons.append(Reason("out_of_scope", category, detail, score))
                escalate("refuse", "out_of_scope", category)
    if encoded_attack:
        reasons.append(Reason("injection", "encoded", "the request was hidden with an encoding"))
        escalate("refuse", "injection", "encoded")

    match = lexicon_match or (lambda folded: lexicon_current().match(folded))
    lex_seen: set[str] = set()
    for variant, value in seen.all_texts():
        for hit in match(value):
            if hit.term in lex_seen:
                continue
            lex_seen.add(hit.term)
            suffix = "" if variant in _PLAIN_VARIANTS else f" (after decoding {variant})"
            reasons.append(
                Reason(
                    "sensitive",
                    f"lexicon.{hit.category}",
                    f"matched sensitive term '{hit.term}' ({hit.category}, {hit.action}){suffix}",
                )
            )
            if hit.action == "refuse":
                escalate("refuse", "sensitive", hit.category)
            elif hit.action in ("hold", "caution"):
                escalate(hit.action)

    verdict = learned.question_verdict(text, language)
    for reason, wanted in verdict.reasons if verdict else ():
        reasons.append(reason)
        # The rules and the lexicon name what they saw (an injection, a term); the learned head
        # only adds a refusal where they found none, so the reader's explanation stays specific.
        # An out-of-scope refusal is not a finding about harm: a harmful request that is also
        # off-topic ("write a phishing e-mail") is refused as unsafe, so the reader is told
        # why and the audit trail and review statistics count it as a safety refusal.
        named = wanted == "refuse" and refusal in (None, "out_of_scope")
        escalate(wanted, reason.code if named else None, reason.category)

    if findings:
        kinds = sorted({f.kind for f in findings})
        reasons.append(
            Reason(
                "pii",
                "pii." + ",".join(k.lower() for k in kinds),
                f"{len(findings)} personal data value(s) redacted: {', '.join(kinds)}",
            )
        )

    crisis = any(r.category == "self_harm.crisis" for r in reasons)
    emergency = any(r.code == "emergency" for r in reasons)
    if action == "refuse":
        text_guidance = guidance.refusal_guidance(
            refusal or "unsafe", language, category=refusal_category
        )
        if crisis and not refusal_category.startswith("self_harm"):
            text_guidance = guidance.crisis_guidance(language) + "\n" + text_guidance
    elif crisis:
        text_guidance = guidance.crisis_guidance(language)
    else:
        text_guidance = ""
    return GuardResult(
        action=action,
        reasons=tuple(reasons),
        redacted_text=redacted,
        language=language,
        refusal_reason=refusal if action == "refuse" else None,
        guidance=text_guidance,
        emergency_notice=guidance.emergency_notice(language) if emergency else None,
        pii_kinds=tuple(sorted({f.kind for f in findings})),
        elapsed_ms=(time.perf_counter() - started) * 1000,
        learned=verdict.summary() if verdict else {},
    )
