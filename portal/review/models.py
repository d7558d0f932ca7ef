"""Reviewer decisions on held answers, kept whole because they are training data.

Each decision stores the question (redacted), the passages the model was given, the draft it wrote,
the final text and the verdict, so the fine-tuning loop can build supervised pairs (question +
passages -> approved or edited answer) and preference pairs (edited answer over the draft) without
reaching back into rows that may have changed since.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from portal.qa.models import Answer


class Decision(models.TextChoices):
    APPROVE = "approve", "Approved"
    EDIT = "edit", "Edited and approved"
    REJECT = "reject", "Rejected"


class ReviewDecision(models.Model):
    answer = models.ForeignKey(Answer, on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    decision = models.CharField(max_length=10, choices=Decision.choices)
    reason = models.TextField(blank=True)
    question = models.TextField()
    language = models.CharField(max_length=5)
    passages = models.JSONField(default=list)  # [{"label", "chunk_id", "title", "text"}]
    draft = models.TextField()  # the held answer as the pipeline wrote it (markers included)
    final_text = models.TextField(blank=True)  # what was published; empty when rejected
    final_sentences = models.JSONField(default=list, blank=True)
    verification = models.JSONField(default=list, blank=True)  # re-verification of an edit
    prompt_version = models.CharField(max_length=40, blank=True)
    model_id = models.CharField(max_length=200, blank=True)
    adapter_id = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.decision} on {self.answer_id}"
