"""The sensitive-term lexicon: terms and the version history that tells processes to recompile."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class TermAction(models.TextChoices):
    # What a match does on its own; the guard may still combine it with other signals.
    REFUSE = "refuse", "refuse"
    HOLD = "hold", "hold for review"
    CAUTION = "caution", "publish with caution"
    FLAG = "flag", "record only"


class SensitiveTerm(models.Model):
    """One term of the lexicon, matched case-insensitively as a substring of normalized text.

    Terms are phrases rather than bare topic words ("how to make meth", not "meth"), because a
    citizen asking about drug sentencing or overdose symptoms must not be treated as an attacker.
    """

    term = models.CharField(max_length=200)
    category = models.CharField(max_length=60, db_index=True)
    language = models.CharField(max_length=5, choices=[("zh", "中文"), ("en", "English")])
    action = models.CharField(max_length=10, choices=TermAction.choices, default=TermAction.FLAG)
    enabled = models.BooleanField(default=True)
    note = models.CharField(max_length=300, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["category", "term"]
        constraints = [
            models.UniqueConstraint(fields=["term", "language"], name="safety_term_unique")
        ]

    def __str__(self) -> str:
        return f"{self.term} ({self.category}, {self.action})"


class LexiconVersion(models.Model):
    """A snapshot marker written on every lexicon change.

    Processes keep a compiled automaton tagged with the id of the newest row and rebuild it when
    a newer row appears, so an admin's edit reaches every worker within SAFETY_LEXICON_CHECK_S.
    """

    content_hash = models.CharField(max_length=64)
    term_count = models.PositiveIntegerField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    change = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"v{self.pk} {self.term_count} terms {self.content_hash[:12]}"
