from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.db.models import Q
from django.utils import timezone

from ingestion.screening import text_without


class Audience(models.TextChoices):
    PUBLIC = "public", "Public"
    STAFF = "staff", "Staff only"
    GROUPS = "groups", "Named groups only"


class Collection(models.Model):
    """A set of documents shown to one audience (public, staff, or named groups)."""

    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    languages = models.JSONField(default=list, blank=True, help_text='e.g. ["en", "zh"]')
    audience = models.CharField(max_length=10, choices=Audience.choices, default=Audience.PUBLIC)
    # Whose programmes and laws the documents describe. Not the language: the demo answers Chinese
    # questions about US programmes, and a deployment may hold English translations of Chinese
    # law. Refusal guidance reads it to name an agency of the right country (portal/qa/agencies.py).
    jurisdiction = models.CharField(
        max_length=16,
        blank=True,
        help_text='Country code of the agencies the documents concern, e.g. "cn" or "us"; blank '
        "when none (refusals then name an agency from the question alone).",
    )
    # Questions the home page offers as examples of what one can ask here. Stored, not derived
    # from the documents, so admins choose them; plain strings because a question's language is
    # read from its text (textkit.language_of), the same rule the answer engine uses.
    example_questions = models.JSONField(
        default=list,
        blank=True,
        help_text="Example questions shown on the home page, in any of the collection's languages.",
    )
    groups = models.ManyToManyField(Group, blank=True, related_name="collections")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Document(models.Model):
    """A document as admins know it (a title in a collection); its content lives in versions.

    Deleting is a soft delete: the row stays so old answers still resolve their citations, but its
    chunks leave retrieval at once.
    """

    collection = models.ForeignKey(Collection, on_delete=models.PROTECT, related_name="documents")
    title = models.CharField(max_length=300)
    # True when an uploader or an admin gave the title; False while it is derived (from the file
    # name, then from the content's own title), which a new version's content may replace.
    title_chosen = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["collection", "title"]
        constraints = [
            models.UniqueConstraint(
                fields=["collection", "title"],
                condition=Q(deleted_at__isnull=True),
                name="document_unique_live_title",
            )
        ]

    def __str__(self) -> str:
        return self.title


class VersionStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    DUPLICATE = "duplicate", "Duplicate of an existing version"


class DocumentVersion(models.Model):
    """One uploaded file of a document, with the dates it is in force.

    A version is live for retrieval when it is done, its document is not deleted, today is within
    [effective_from, expires_on), and no later done version of the document is already in effect.
    Superseded and expired versions stay stored so old citations keep resolving.
    """

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    file = models.FileField(upload_to="documents/%Y/%m/", max_length=500)
    original_filename = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64, db_index=True)
    size_bytes = models.BigIntegerField()
    media_type = models.CharField(max_length=120, blank=True)
    language = models.CharField(max_length=10, blank=True)
    page_count = models.PositiveIntegerField(null=True, blank=True)
    # Pages whose text came from OCR (scanned PDF pages, images) and their mean word confidence,
    # 0..1, so an admin can see how far a document's text can be trusted (ingestion/ocr.py).
    ocr_pages = models.PositiveIntegerField(default=0)
    ocr_confidence = models.FloatField(null=True, blank=True)
    effective_from = models.DateField(default=timezone.localdate)
    expires_on = models.DateField(null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=VersionStatus.choices, default=VersionStatus.QUEUED, db_index=True
    )
    # The parse result (text + blocks with headings/pages/offsets) so later steps can be re-run
    # without parsing again, and citations can show context.
    parsed = models.JSONField(null=True, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["document", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["document", "number"], name="version_unique_number")
        ]

    def __str__(self) -> str:
        return f"{self.document.title} v{self.number}"


class Chunk(models.Model):
    """A citable passage of a version. Its id is the id FAISS stores."""

    version = models.ForeignKey(DocumentVersion, on_delete=models.CASCADE, related_name="chunks")
    position = models.PositiveIntegerField()
    text = models.TextField()
    heading_path = models.JSONField(default=list, blank=True)
    page_start = models.PositiveIntegerField(null=True, blank=True)
    page_end = models.PositiveIntegerField(null=True, blank=True)
    char_start = models.PositiveIntegerField()
    char_end = models.PositiveIntegerField()
    # The lowest OCR confidence (0..1) of the text it covers; null when it came from a text layer.
    ocr_confidence = models.FloatField(null=True, blank=True)
    # Space-separated BM25 tokens (ingestion.tokenize), computed once at chunk time so the keyword
    # index can be rebuilt from the database without segmenting Chinese text again.
    keywords = models.TextField(blank=True, default="")
    # Sentences the planted-instruction detector flagged at ingestion (ingestion.screening):
    # [{"start", "end", "text", "score"}] with offsets into ``text``. They stay in the stored
    # text (citations point into the original) but never reach evidence, prompts or quotes.
    planted = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["version", "position"]
        constraints = [
            # Re-running the chunk step upserts by this key, so it never duplicates.
            models.UniqueConstraint(fields=["version", "position"], name="chunk_unique_position")
        ]

    def __str__(self) -> str:
        return f"chunk {self.pk} ({self.version_id}#{self.position})"

    @property
    def evidence_text(self) -> str:
        """The text retrieval, prompts, verification and quotes read: flagged spans cut out."""
        return text_without(self.text, self.planted)


class ChunkEmbedding(models.Model):
    """A chunk's vector under one embedding model: the source of truth FAISS is rebuilt from."""

    chunk = models.ForeignKey(Chunk, on_delete=models.CASCADE, related_name="embeddings")
    model = models.CharField(max_length=200)
    vector = models.BinaryField()  # float32, little-endian, L2-normalized

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["chunk", "model"], name="embedding_unique_model")
        ]
        indexes = [models.Index(fields=["model"])]

    def __str__(self) -> str:
        return f"{self.model} vector of chunk {self.chunk_id}"


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class IngestionJob(models.Model):
    """The state of ingesting one version: what the UI shows and what the reconciler watches."""

    STEPS = ("parse", "chunk", "embed", "index")

    version = models.OneToOneField(DocumentVersion, on_delete=models.CASCADE, related_name="job")
    status = models.CharField(
        max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED, db_index=True
    )
    step = models.CharField(max_length=10, blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    timings = models.JSONField(default=dict, blank=True)  # step -> seconds
    log = models.JSONField(default=list, blank=True)  # [{"at", "level", "message"}]
    error_code = models.CharField(max_length=40, blank=True)
    error_message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"job {self.pk} ({self.status})"


class VectorIndex(models.Model):
    """The current FAISS index file for one embedding model.

    Locked with SELECT ... FOR UPDATE while written, so index writes are serialized across
    workers; readers compare ``version`` with what they loaded and reload when it moved.
    """

    model = models.CharField(max_length=200, unique=True)
    version = models.PositiveIntegerField(default=0)
    path = models.CharField(max_length=500, blank=True)
    size = models.PositiveIntegerField(default=0)
    dimension = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.model} v{self.version} ({self.size} vectors)"


class KeywordIndex(models.Model):
    """The current BM25 file (one for all collections; filters apply at search time).

    Like VectorIndex: locked while written, and readers reload when ``path`` changes.
    """

    version = models.PositiveIntegerField(default=0)
    path = models.CharField(max_length=500, blank=True)
    size = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"bm25 v{self.version} ({self.size} chunks)"
