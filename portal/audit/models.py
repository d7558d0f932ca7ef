from django.db import models

# Version 1 events (written before ``outcome`` existed) keep the fields they were hashed with, so
# adding a field never invalidates a stored chain; new events are written as the current format.
EVENT_FORMAT = 2


class Outcome(models.TextChoices):
    OK = "ok", "ok"
    DENIED = "denied", "denied"  # refused: wrong password, missing permission, guard refusal
    FAILED = "failed", "failed"  # attempted and went wrong: a rejected upload, an error


class AuditEvent(models.Model):
    """One audited action, chained to the previous event by hash.

    ``hash = sha256(prev_hash + canonical JSON of this event's fields)``, so editing, deleting,
    inserting or reordering rows breaks the chain at that point (``manage.py audit_verify``). No
    raw personal data is stored: the actor is a user id, the client address is a keyed hash, and
    details hold counts and ids, never question text. On PostgreSQL a trigger refuses UPDATE,
    DELETE and TRUNCATE (migration 0003); signed ``AuditCheckpoint`` rows pin the chain so a
    rewrite by someone who can bypass the trigger is still caught.
    """

    seq = models.BigIntegerField(unique=True)
    at = models.DateTimeField(db_index=True)
    actor_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    actor_role = models.CharField(max_length=20)
    action = models.CharField(max_length=60, db_index=True)
    object_type = models.CharField(max_length=60, blank=True)
    object_id = models.CharField(max_length=60, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.OK)
    client = models.CharField(max_length=64, blank=True)  # HMAC of the client address
    detail = models.JSONField(default=dict, blank=True)
    # Which fields the hash covers (see portal.audit.chain.event_fields).
    format = models.PositiveSmallIntegerField(default=EVENT_FORMAT)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["seq"]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action}"


class AuditHead(models.Model):
    """A single row locked while appending, so concurrent writers extend the chain one at a time."""

    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self) -> str:
        return f"head #{self.seq}"


class CheckpointKind(models.TextChoices):
    PERIODIC = "periodic", "periodic"
    # Written by the retention purge: events up to ``seq`` were deleted on purpose and the
    # remaining chain starts from ``hash``.
    PURGE = "purge", "purge anchor"


class AuditCheckpoint(models.Model):
    """A signed statement "event ``seq`` of the chain had hash ``hash`` at ``created_at``".

    The HMAC key comes from the environment (AUDIT_HMAC_KEY), never from the database, so someone
    who can rewrite the tables cannot forge a checkpoint: a rewritten or truncated chain no longer
    passes through the signed hashes. Checkpoints chain too (``prev_signature``), so removing one
    from the middle is caught. Append-only like the events.
    """

    seq = models.BigIntegerField(db_index=True)
    hash = models.CharField(max_length=64)
    kind = models.CharField(
        max_length=10, choices=CheckpointKind.choices, default=CheckpointKind.PERIODIC
    )
    created_at = models.DateTimeField()
    prev_signature = models.CharField(max_length=64, blank=True)
    key_id = models.CharField(max_length=16)
    signature = models.CharField(max_length=64)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"checkpoint #{self.pk} ({self.kind}) at event {self.seq}"
