"""Answers as records: what was asked (redacted), what was found, drafted, verified and published.

An answer keeps everything needed to explain it later and to learn from it: the retrieved chunk ids
and scores, the prompt template version, the model and adapter, the index version, the raw draft,
the verdict per sentence, the published text and the time each step took. Citations copy the
passage they quote (title, version, section, page, text), so they still resolve after the document
is superseded or its chunks are rebuilt.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class AnswerStatus(models.TextChoices):
    PENDING = "pending", "Being written"
    ANSWERED = "answered", "Answered"
    REFUSED = "refused", "Refused"
    HELD = "held", "Under review"
    REJECTED = "rejected", "Rejected by a reviewer"
    # The row always ends (portal/qa/engine/answer.py): the reader left, or a step raised.
    ABANDONED = "abandoned", "Abandoned before it was finished"
    FAILED = "failed", "Failed"


class RefusalReason(models.TextChoices):
    UNSAFE = "unsafe"
    INJECTION = "injection"
    SENSITIVE = "sensitive"
    OUT_OF_SCOPE = "out_of_scope"
    NO_SUPPORT = "no_support"
    HELD = "held"


class Answer(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    asked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    asker_role = models.CharField(max_length=20, blank=True)
    question = models.TextField(help_text="With personal data redacted before it was stored.")
    language = models.CharField(max_length=5)
    question_translated = models.TextField(
        blank=True,
        help_text="The question in the sources' language, when they are written in another one.",
    )
    collections = models.JSONField(default=list, blank=True)
    status = models.CharField(
        max_length=10, choices=AnswerStatus.choices, default=AnswerStatus.PENDING
    )
    refusal_reason = models.CharField(max_length=20, choices=RefusalReason.choices, blank=True)
    guard = models.JSONField(default=dict, blank=True)  # input/output guard actions and reasons
    retrieved = models.JSONField(default=list, blank=True)  # [{"label","chunk_id","score",...}]
    prompt_version = models.CharField(max_length=40, blank=True)
    backend = models.CharField(max_length=40, blank=True)
    model_id = models.CharField(max_length=200, blank=True)
    adapter_id = models.CharField(max_length=200, blank=True)
    index_version = models.CharField(max_length=80, blank=True)
    draft = models.TextField(blank=True)
    verification = models.JSONField(default=list, blank=True)  # one verdict per draft sentence
    published_text = models.TextField(blank=True)
    sentences = models.JSONField(default=list, blank=True)  # [{"text", "labels"}] as published
    guidance = models.TextField(blank=True)  # refusal guidance or caution shown with the answer
    # The documents a refusal's guidance names as the closest sources found ([{"document_id",
    # "title"}], at most three), so the refusal can link each to its source page.
    closest_sources = models.JSONField(default=list, blank=True)
    emergency_notice = models.TextField(blank=True)
    # The model did not answer (inference server down): the published text quotes passages.
    model_unavailable = models.BooleanField(default=False)
    timings = models.JSONField(default=dict, blank=True)  # step -> seconds
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    # A held answer to a question that is already waiting for review (same redacted question,
    # language and collections) points at that one: the queue shows one item, and the
    # reviewer's decision on it settles every repeat (portal/review/services.py).
    same_as = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="repeats"
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"answer {self.public_id} ({self.status})"


class Citation(models.Model):
    answer = models.ForeignKey(Answer, on_delete=models.CASCADE, related_name="citations")
    label = models.CharField(max_length=8)
    chunk = models.ForeignKey(
        "knowledge.Chunk", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    document_version = models.ForeignKey(
        "knowledge.DocumentVersion",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    document_id_snapshot = models.PositiveIntegerField(default=0)
    document_title = models.CharField(max_length=300)
    collection = models.CharField(max_length=200, blank=True)
    version_number = models.PositiveIntegerField(default=1)
    section = models.JSONField(default=list, blank=True)
    page_start = models.PositiveIntegerField(null=True, blank=True)
    page_end = models.PositiveIntegerField(null=True, blank=True)
    effective_from = models.CharField(max_length=10, blank=True)
    quote = models.TextField()

    class Meta:
        ordering = ["answer", "label"]
        constraints = [
            models.UniqueConstraint(fields=["answer", "label"], name="citation_unique_label")
        ]

    def __str__(self) -> str:
        return f"[{self.label}] {self.document_title} v{self.version_number}"
