"""Readers' verdicts on answers: helpful or not, with an optional reason.

Feedback is kept apart from the answer rows (owned by portal.qa) so the answer pipeline never
depends on it. One row per reader per answer: a reader who changes their mind updates their row
instead of stacking votes, which also caps what one client can add to an answer.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from portal.qa.models import Answer


class Reason(models.TextChoices):
    INCORRECT = "incorrect", _("The answer seems wrong")
    NOT_ANSWERED = "not_answered", _("It did not answer my question")
    UNCLEAR = "unclear", _("Hard to understand")
    SOURCES = "sources", _("The sources do not say this")
    OTHER = "other", _("Something else")


class Feedback(models.Model):
    """One reader's verdict on one answer. ``comment`` is stored with personal data redacted."""

    answer = models.ForeignKey(Answer, on_delete=models.CASCADE, related_name="feedback")
    # Keyed hash of the reader's session (or account): lets a reader revise their own vote
    # without storing who they are or their address.
    reader_key = models.CharField(max_length=64)
    helpful = models.BooleanField()
    reason = models.CharField(max_length=20, choices=Reason.choices, blank=True)
    comment = models.TextField(blank=True)
    language = models.CharField(max_length=10, blank=True)  # the page language when sent
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["answer", "reader_key"], name="feedback_one_per_reader")
        ]
        indexes = [models.Index(fields=["helpful", "created_at"])]

    def __str__(self) -> str:
        return f"feedback on {self.answer_id}: {'helpful' if self.helpful else 'not helpful'}"
