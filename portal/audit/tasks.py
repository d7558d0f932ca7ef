"""Periodic audit work, run by Celery beat (settings: CELERY_BEAT_SCHEDULE["audit-checkpoint"])."""

from celery import shared_task

from portal.audit.services import audit_checkpoint_create


@shared_task(name="audit.checkpoint")
def audit_checkpoint_task() -> int | None:
    """Sign the chain head when it moved; idempotent, so a duplicate delivery writes nothing."""
    checkpoint = audit_checkpoint_create()
    return checkpoint.pk if checkpoint else None
