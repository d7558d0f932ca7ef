"""Verification of claims against the passages they cite.

- ``problems``: coded findings (``Problem.NUMBER_MISSING`` ...), rendered to text only at the edge;
- ``evidence``: passages cut into sentences and windows;
- ``checks``: the registry of named checks, the verifier's specification read top to bottom;
- ``scorer``: the calibrated support score (fitted on dev drafts by ``manage.py verifier_fit``);
- ``verifier``: ``claim_verify``, the one entry point;
- ``question``: quoting, echo and glued-title helpers that also read the question.
"""

from portal.qa.verify.evidence import (
    DOCUMENT_GROUP_TERMS,
    PassageEvidence,
    without_document_groups,
)
from portal.qa.verify.problems import FACT_PROBLEMS, Finding, Problem, finding
from portal.qa.verify.question import (
    as_claimed,
    asks_for_content,
    best_answer_sentence,
    quotable,
    quote_for,
    relevance,
    restates_question,
    with_passage_spacing,
    without_leading_marks,
    without_title_prefix,
)
from portal.qa.verify.verifier import Verdict, VerifierConfig, claim_verify, coverage

__all__ = [
    "DOCUMENT_GROUP_TERMS",
    "FACT_PROBLEMS",
    "Finding",
    "PassageEvidence",
    "Problem",
    "Verdict",
    "VerifierConfig",
    "as_claimed",
    "asks_for_content",
    "best_answer_sentence",
    "claim_verify",
    "coverage",
    "finding",
    "quotable",
    "quote_for",
    "relevance",
    "restates_question",
    "with_passage_spacing",
    "without_document_groups",
    "without_leading_marks",
    "without_title_prefix",
]
