from django.db import models


class AuditEvent(models.Model):
    """One audited action, chained to the previous event by hash.

    ``hash = sha256(prev_hash + canonical JSON of this event's fields)``, so editing, deleting,
    inserting or reordering rows breaks the chain at that point (``manage.py audit_verify``). No
    raw personal data is stored: the actor is a user id, the client address is a keyed hash, and
    details hold counts and ids, never question text.
    """

    seq = models.BigIntegerField(unique=True)
    at = models.DateTimeField()
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_role = models.CharField(max_length=20)
    action = models.CharField(max_length=60, db_index=True)
    object_type = models.CharField(max_length=60, blank=True)
    object_id = models.CharField(max_length=60, blank=True)
    client = models.CharField(max_length=64, blank=True)  # HMAC of the client address
    detail = models.JSONField(default=dict, blank=True)
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
