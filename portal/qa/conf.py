"""Typed configuration of answers and verification, read from settings in one place.

Production builds these with ``from_settings()``; tests build the same objects with the values they
need (or call ``from_settings()`` under overridden settings), so both go through one constructor
and one validation.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured

from portal.qa.verify import VerifierConfig


def _unit(name: str, value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise ImproperlyConfigured(f"{name} must be between 0 and 1, not {value}")
    return value


def _floor(name: str, value: float) -> float:
    """A similarity or coverage floor: above 1 it can never be met, which switches that path
    of the gate off (operators and tests do that on purpose)."""
    if value < 0.0:
        raise ImproperlyConfigured(f"{name} must not be negative, not {value}")
    return value


def verifier_config(settings=None) -> VerifierConfig:
    s = settings or django_settings
    return VerifierConfig(
        threshold=_unit("VERIFY_SUPPORT_THRESHOLD", s.VERIFY_SUPPORT_THRESHOLD),
        min_crosslingual=_unit("VERIFY_MIN_CROSSLINGUAL", s.VERIFY_MIN_CROSSLINGUAL),
        crosslingual=s.VERIFY_CROSSLINGUAL,
        recite=s.VERIFY_RECITE,
        scorer_path=str(s.VERIFY_SCORER_PATH or ""),
    )


@dataclass(frozen=True)
class RelevanceConfig:
    """The relevance gate between retrieval and the prompt (docs/decisions.md has the dev
    figures behind each value)."""

    min_lexical: float  # ANSWER_MIN_LEXICAL_RELEVANCE: a passage close to the question by words
    min_dense: float  # ANSWER_MIN_DENSE_RELEVANCE: ...or by embedding (alone across languages)
    min_question_coverage: float  # ANSWER_MIN_QUESTION_COVERAGE: the document covers the question
    sole_question_coverage: float  # ANSWER_SOLE_QUESTION_COVERAGE: enough without a close passage
    keep_lexical: float  # ANSWER_KEEP_LEXICAL_RELEVANCE: other passages of a passing document
    keep_dense: float  # ANSWER_KEEP_DENSE_RELEVANCE
    prompt_passages: int  # ANSWER_PROMPT_PASSAGES
    # ANSWER_MIN_QUESTION_COVERAGE_ZH: a Chinese question's floor. Citizens' words are not the
    # statute's (多少天 / 十五日内), and Chinese IDF units are jieba words, so a lay question's
    # rare terms are covered less often than an English one's (decisions.md).
    min_question_coverage_zh: float | None = None

    def question_coverage_floor(self, language: str) -> float:
        if language == "zh" and self.min_question_coverage_zh is not None:
            return self.min_question_coverage_zh
        return self.min_question_coverage


@dataclass(frozen=True)
class AnswerConfig:
    """Everything the answer engine reads from settings."""

    passages: int  # ANSWER_PASSAGES: retrieved per question
    passage_max_chars: int  # ANSWER_PASSAGE_MAX_CHARS: each passage trimmed for the prompt
    max_sentences: int  # ANSWER_MAX_SENTENCES
    max_tokens: int  # ANSWER_MAX_TOKENS
    grammar: bool  # ANSWER_GRAMMAR: constrain the citation format where the backend can
    crosslingual: bool  # ANSWER_CROSSLINGUAL: answer in the sources' language, translate back
    quote_min_overlap: float  # ANSWER_QUOTE_MIN_OVERLAP: a fallback quote shares this much
    min_answer_score: float  # ANSWER_MIN_ANSWER_SCORE: a published sentence answers the question
    lead_quote: bool  # ANSWER_LEAD_QUOTE: the best-answering passage sentence may lead
    relevance: RelevanceConfig
    verifier: VerifierConfig

    @classmethod
    def from_settings(cls, settings=None) -> AnswerConfig:
        s = settings or django_settings
        if s.ANSWER_MAX_SENTENCES < 1 or s.ANSWER_MAX_TOKENS < 16:
            raise ImproperlyConfigured("ANSWER_MAX_SENTENCES >= 1 and ANSWER_MAX_TOKENS >= 16")
        return cls(
            passages=s.ANSWER_PASSAGES,
            passage_max_chars=s.ANSWER_PASSAGE_MAX_CHARS,
            max_sentences=s.ANSWER_MAX_SENTENCES,
            max_tokens=s.ANSWER_MAX_TOKENS,
            grammar=s.ANSWER_GRAMMAR,
            crosslingual=s.ANSWER_CROSSLINGUAL,
            quote_min_overlap=_unit("ANSWER_QUOTE_MIN_OVERLAP", s.ANSWER_QUOTE_MIN_OVERLAP),
            min_answer_score=_unit("ANSWER_MIN_ANSWER_SCORE", s.ANSWER_MIN_ANSWER_SCORE),
            lead_quote=s.ANSWER_LEAD_QUOTE,
            relevance=RelevanceConfig(
                min_lexical=_floor("ANSWER_MIN_LEXICAL_RELEVANCE", s.ANSWER_MIN_LEXICAL_RELEVANCE),
                min_dense=_floor("ANSWER_MIN_DENSE_RELEVANCE", s.ANSWER_MIN_DENSE_RELEVANCE),
                min_question_coverage=_floor(
                    "ANSWER_MIN_QUESTION_COVERAGE", s.ANSWER_MIN_QUESTION_COVERAGE
                ),
                sole_question_coverage=_floor(
                    "ANSWER_SOLE_QUESTION_COVERAGE", s.ANSWER_SOLE_QUESTION_COVERAGE
                ),
                keep_lexical=_floor(
                    "ANSWER_KEEP_LEXICAL_RELEVANCE", s.ANSWER_KEEP_LEXICAL_RELEVANCE
                ),
                keep_dense=_floor("ANSWER_KEEP_DENSE_RELEVANCE", s.ANSWER_KEEP_DENSE_RELEVANCE),
                prompt_passages=s.ANSWER_PROMPT_PASSAGES,
                min_question_coverage_zh=_floor(
                    "ANSWER_MIN_QUESTION_COVERAGE_ZH", s.ANSWER_MIN_QUESTION_COVERAGE_ZH
                ),
            ),
            verifier=verifier_config(s),
        )
