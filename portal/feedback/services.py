"""Writes of reader feedback: the page, and later the API, call ``feedback_submit``."""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest
from django.utils.crypto import salted_hmac

from portal.audit.services import audit_record
from portal.feedback.models import Feedback, Reason
from portal.qa.models import Answer
from portal.safety.pii import redact

COMMENT_MAX_CHARS = 500


def reader_key(request: HttpRequest) -> str:
    """A stable, keyed, non-reversible key for the reader: their account when signed in, else
    their session (created here if needed, so anonymous readers can revise their vote)."""
    if request.user.is_authenticated:
        raw = f"user:{request.user.pk}"
    else:
        if request.session.session_key is None:
            request.session.save()
        raw = f"session:{request.session.session_key}"
    return salted_hmac("portal.feedback.reader", raw).hexdigest()


def feedback_submit(
    *,
    answer: Answer,
    reader: str,
    helpful: bool,
    reason: str = "",
    comment: str = "",
    language: str = "",
) -> Feedback:
    """Record (or revise) one reader's verdict on an answer.

    A reason only qualifies a "not helpful" verdict, so it is dropped on "helpful". The comment
    is cut to COMMENT_MAX_CHARS and redacted before it is stored: readers type phone numbers and
    ID numbers into free text, and feedback rows are read by staff.
    """
    if reason and reason not in Reason.values:
        raise ValueError(f"unknown reason {reason!r}")
    clean_comment = redact(comment.strip()[:COMMENT_MAX_CHARS], language=answer.language or None)
    with transaction.atomic():
        feedback, created = Feedback.objects.update_or_create(
            answer=answer,
            reader_key=reader,
            defaults={
                "helpful": helpful,
                "reason": "" if helpful else reason,
                "comment": clean_comment,
                "language": language[:10],
            },
        )
        # The verdict and reason code only: the comment stays in its own (redacted) row.
        audit_record(
            action="feedback.submit",
            object_type="answer",
            object_id=answer.pk,
            detail={"helpful": helpful, "reason": feedback.reason, "revised": not created},
        )
    return feedback
