"""Typed, validated configuration of the staff drafting workspace (portal/drafting/).

``DraftingConfig.from_settings()`` reads the DRAFT_* Django settings (portal/settings.py, section
"Drafting") when it is called, so ``override_settings`` in a test is seen exactly as production's
environment is; constructing one directly runs the same validation. A bad value raises
ImproperlyConfigured naming the setting.
"""

from __future__ import annotations

from dataclasses import dataclass

from portal.env import check_float, check_int


@dataclass(frozen=True)
class DraftingConfig:
    """How much a draft retrieves, prompts and writes, and which passages it may draft from."""

    #: DRAFT_PASSAGES: passages retrieved for the facts of a case (>= 1).
    passages: int = 8
    #: DRAFT_PROMPT_PASSAGES: relevant passages given to the model (>= 1).
    prompt_passages: int = 5
    #: DRAFT_PASSAGE_MAX_CHARS: each prompted passage is cut to this many characters (>= 100).
    passage_max_chars: int = 500
    #: DRAFT_MAX_TOKENS: longest body the model may write (>= 32).
    max_tokens: int = 400
    #: DRAFT_FACTS_MAX_CHARS: longest facts of a case a staff member may enter (>= 100).
    facts_max_chars: int = 4000
    #: DRAFT_MIN_LEXICAL_RELEVANCE: a passage is drafted from when this share of the facts'
    #: content is in it, 0..1 (lower than answers': facts are wordier than questions)...
    min_lexical_relevance: float = 0.25
    #: DRAFT_MIN_DENSE_RELEVANCE: ...or its embedding is this close to the facts', 0..1.
    min_dense_relevance: float = 0.35
    #: DRAFT_EXTRACTIVE_MIN_COVERAGE: the quoting (extractive) backend's share of the facts a
    #: quoted sentence must cover, 0..1.
    extractive_min_coverage: float = 0.12

    def __post_init__(self) -> None:
        check_int("DRAFT_PASSAGES", self.passages, minimum=1)
        check_int("DRAFT_PROMPT_PASSAGES", self.prompt_passages, minimum=1)
        check_int("DRAFT_PASSAGE_MAX_CHARS", self.passage_max_chars, minimum=100)
        check_int("DRAFT_MAX_TOKENS", self.max_tokens, minimum=32)
        check_int("DRAFT_FACTS_MAX_CHARS", self.facts_max_chars, minimum=100)
        for name, value in (
            ("DRAFT_MIN_LEXICAL_RELEVANCE", self.min_lexical_relevance),
            ("DRAFT_MIN_DENSE_RELEVANCE", self.min_dense_relevance),
            ("DRAFT_EXTRACTIVE_MIN_COVERAGE", self.extractive_min_coverage),
        ):
            check_float(name, value, minimum=0.0, maximum=1.0)

    @classmethod
    def from_settings(cls, settings=None) -> DraftingConfig:
        """Read the DRAFT_* settings (now)."""
        if settings is None:
            from django.conf import settings
        s = settings
        return cls(
            passages=s.DRAFT_PASSAGES,
            prompt_passages=s.DRAFT_PROMPT_PASSAGES,
            passage_max_chars=s.DRAFT_PASSAGE_MAX_CHARS,
            max_tokens=s.DRAFT_MAX_TOKENS,
            facts_max_chars=s.DRAFT_FACTS_MAX_CHARS,
            min_lexical_relevance=s.DRAFT_MIN_LEXICAL_RELEVANCE,
            min_dense_relevance=s.DRAFT_MIN_DENSE_RELEVANCE,
            extractive_min_coverage=s.DRAFT_EXTRACTIVE_MIN_COVERAGE,
        )
