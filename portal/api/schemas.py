"""Request and response shapes of /api/v1/ (they are the OpenAPI schema clients code against)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from ninja import Field, Schema

from portal.qa.services import MAX_QUESTION_CHARS


class Error(Schema):
    detail: str


class AskIn(Schema):
    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS)
    collections: list[str] = Field(default_factory=list, max_length=10)
    language: Literal["en", "zh"] | None = None


class SentenceOut(Schema):
    text: str
    citations: list[str]
    quoted: bool


class CitationOut(Schema):
    label: str
    document: str
    document_id: int | None
    collection: str
    version: int | None
    section: list[str]
    page: int | None
    effective_from: str | None
    quote: str


class AnswerOut(Schema):
    answer_id: str
    status: str
    refusal_reason: str | None
    language: str
    ai_generated: bool
    sentences: list[SentenceOut]
    text: str
    citations: dict[str, CitationOut]
    guidance: str
    emergency_notice: str
    backend: str
    created_at: str


class CollectionOut(Schema):
    slug: str
    name: str
    description: str
    audience: str
    languages: list[str]


class JobOut(Schema):
    id: int
    status: str
    step: str
    progress_done: int
    progress_total: int
    attempts: int
    error_code: str
    error_message: str
    timings: dict[str, float]


class VersionOut(Schema):
    number: int
    status: str
    live: bool
    original_filename: str
    size_bytes: int
    sha256: str
    media_type: str
    language: str
    page_count: int | None
    effective_from: dt.date
    expires_on: dt.date | None
    created_at: dt.datetime
    job: JobOut | None


class DocumentOut(Schema):
    id: int
    title: str
    collection: str
    created_at: dt.datetime
    deleted: bool
    versions: list[VersionOut]


class UploadOut(Schema):
    filename: str
    ok: bool
    document_id: int | None
    version: int | None
    job_id: int | None
    duplicate_of_document_id: int | None
    error_code: str
    error: str


class UploadResultsOut(Schema):
    results: list[UploadOut]


class QueueItemOut(Schema):
    answer_id: str
    question: str
    language: str
    reasons: list[str]
    age_hours: float
    overdue: bool
    draft: str
    asked_again: int = 0  # later askers of the same question whose answers follow this one


class ReviewEditIn(Schema):
    text: str = Field(min_length=1, max_length=5000)
    reason: str = Field(default="", max_length=1000)


class ReviewRejectIn(Schema):
    reason: str = Field(min_length=1, max_length=1000)


class ReviewOut(Schema):
    answer_id: str
    status: str


class FindingOut(Schema):
    code: str  # a Problem name, e.g. NUMBER_MISSING (portal/qa/verify/problems.py)
    params: dict[str, str] = {}


class SentenceCheckOut(Schema):
    text: str
    labels: list[str]
    supported: bool
    probability: float  # the calibrated support score
    aligned_label: str | None
    findings: list[FindingOut]
    problems: list[str]  # the findings as English text


class ReviewEditOut(Schema):
    answer_id: str
    saved: bool
    status: str
    checks: list[SentenceCheckOut]
