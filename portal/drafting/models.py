"""Staff drafting: templates of documents and the drafts written from the knowledge base."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class DraftTemplate(models.Model):
    """A kind of document staff draft (reply letter, public notice, patient leaflet...).

    ``instructions_*`` tell the model the form and tone; ``opening_*`` / ``closing_*`` are fixed
    boilerplate placed around the generated body in the page and the DOCX. They make no claims,
    so they are not verified; every sentence of the body is. Admins add and edit templates in
    /admin/; the three defaults are seeded by a data migration.
    """

    slug = models.SlugField(max_length=60, unique=True)
    name_en = models.CharField(max_length=120)
    name_zh = models.CharField(max_length=120, blank=True)
    description = models.TextField(blank=True)
    instructions_en = models.TextField()
    instructions_zh = models.TextField(blank=True)
    opening_en = models.CharField(max_length=300, blank=True)
    opening_zh = models.CharField(max_length=300, blank=True)
    closing_en = models.CharField(max_length=300, blank=True)
    closing_zh = models.CharField(max_length=300, blank=True)
    max_sentences = models.PositiveSmallIntegerField(default=6)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name_en"]

    def __str__(self) -> str:
        return self.name_en

    def name(self, language: str) -> str:
        return (self.name_zh if language == "zh" else "") or self.name_en

    def instructions(self, language: str) -> str:
        return (self.instructions_zh if language == "zh" else "") or self.instructions_en

    def opening(self, language: str) -> str:
        return self.opening_zh if language == "zh" else self.opening_en

    def closing(self, language: str) -> str:
        return self.closing_zh if language == "zh" else self.closing_en


class DraftStatus(models.TextChoices):
    READY = "ready", "Ready"
    NO_SUPPORT = "no_support", "Nothing in the sources supports a draft"


class SentenceState(models.TextChoices):
    """What is known about one sentence of a draft's body."""

    VERIFIED = "verified", "Verified against its source"
    QUOTED = "quoted", "Quoted verbatim from its source (the drafted sentence failed)"
    EDITED = "edited", "Edited by staff, verified against its source"
    EDITED_UNVERIFIED = "edited_unverified", "Edited by staff, NOT supported by its source"


class Draft(models.Model):
    """One document drafted from the knowledge base, with its evidence.

    ``facts`` are stored redacted (portal.safety.pii) and only the redacted text reaches the
    model. ``passages`` snapshot what the model was given (label, source, version, text), so the
    sentences can be re-verified after edits and the footnotes still resolve after the source
    document gets a new version. ``sentences`` is a list of
    ``{"text", "citations": [labels], "state": SentenceState, "check": {...}}``.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    template = models.ForeignKey(DraftTemplate, on_delete=models.PROTECT, related_name="drafts")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="drafts"
    )
    title = models.CharField(max_length=200)
    language = models.CharField(max_length=10)
    facts = models.TextField()
    collections = models.JSONField(default=list, blank=True)  # slugs; empty: all visible
    status = models.CharField(max_length=12, choices=DraftStatus.choices)
    sentences = models.JSONField(default=list, blank=True)
    passages = models.JSONField(default=list, blank=True)
    removed_sentences = models.PositiveIntegerField(default=0)  # failed, nothing to quote
    backend = models.CharField(max_length=40, blank=True)
    model_id = models.CharField(max_length=200, blank=True)
    prompt_version = models.CharField(max_length=40, blank=True)
    draft_text = models.TextField(blank=True)  # the raw generation, for debugging and training
    timings = models.JSONField(default=dict, blank=True)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    exported_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-updated_at"]
        indexes = [models.Index(fields=["author", "-updated_at"])]

    def __str__(self) -> str:
        return self.title

    @property
    def unverified_count(self) -> int:
        return sum(1 for s in self.sentences if s["state"] == SentenceState.EDITED_UNVERIFIED)
