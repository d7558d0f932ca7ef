"""Writing the audit trail: appending events, signing checkpoints, the retention purge."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Subquery
from django.http import HttpRequest
from django.utils import timezone
from redis.exceptions import RedisError

from portal.accounts.selectors import user_role
from portal.audit.chain import GENESIS, ChainWalk, event_digest, event_fields
from portal.audit.conf import AuditConfig
from portal.audit.context import current_request
from portal.audit.models import (
    AuditCheckpoint,
    AuditEvent,
    AuditHead,
    CheckpointKind,
    Outcome,
)
from portal.audit.redaction import redact_value
from portal.audit.signing import checkpoint_sign, checkpoint_signature_problem, keyed_hash
from portal.core.clients import client_address

__all__ = [
    "GENESIS",
    "AuditChainBroken",
    "PurgePlan",
    "audit_checkpoint_create",
    "audit_denial_record",
    "audit_purge",
    "audit_record",
    "client_address",
    "event_digest",
    "event_fields",
    "username_fingerprint",
]

logger = logging.getLogger(__name__)


class AuditChainBroken(Exception):
    """The chain does not verify where a checkpoint or purge needed it to; nothing was signed."""

    def __init__(self, seq: int, problem: str) -> None:
        super().__init__(f"audit chain broken at event {seq}: {problem}")
        self.seq, self.problem = seq, problem


def _client_hash(request: HttpRequest | None) -> str:
    if request is None:
        return ""
    # Keyed, so the trail can link events from one address without storing the address.
    return keyed_hash("client", client_address(request))


def username_fingerprint(username: str) -> str:
    """A keyed hash of an attempted username: repeated attempts on one name line up in the
    trail, while a name that is really someone's phone number or e-mail is not stored."""
    return keyed_hash("username", username.strip().lower())


def _object_id(object_id: str | int) -> str:
    # Integer ids are ids (a seven-digit primary key is not a phone number); strings could be
    # anything a caller had at hand, so they are redacted like detail strings.
    if isinstance(object_id, int):
        return str(object_id)
    return redact_value(str(object_id))[:60]


def audit_record(
    *,
    action: str,
    request: HttpRequest | None = None,
    user=None,
    object_type: str = "",
    object_id: str | int = "",
    outcome: str = Outcome.OK,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event. ``request`` defaults to the request being served (if any) and ``user``
    to that request's user; with neither, the actor is "system" (commands, Celery tasks).

    ``detail`` should hold ids, counts and codes; strings in it are redacted all the same. Call
    inside the transaction that makes the change, so a rolled-back change leaves no event and a
    committed one always has its event. The head row stays locked until that transaction ends.
    """
    request = request if request is not None else current_request()
    user = user if user is not None else getattr(request, "user", None)
    authenticated = bool(user is not None and user.is_authenticated)
    with transaction.atomic():
        head, _ = AuditHead.objects.select_for_update().get_or_create(pk=1)
        event = AuditEvent(
            seq=head.seq + 1,
            at=timezone.now(),
            actor_id=user.pk if authenticated else None,
            actor_role=user_role(user) if user is not None else "system",
            action=action,
            object_type=object_type,
            object_id=_object_id(object_id),
            outcome=Outcome(outcome).value,
            client=_client_hash(request),
            detail=redact_value(detail or {}),
            prev_hash=head.hash,
        )
        event.hash = event_digest(prev_hash=head.hash, fields=event_fields(event))
        event.save()
        head.seq, head.hash = event.seq, event.hash
        head.save()
    return event


def audit_denial_record(*, request: HttpRequest, status: int, reason: str) -> AuditEvent | None:
    """Record that ``request`` was refused (``status`` 401, 403, or the sign-in redirect) and why
    (a short code); None when an event for the same caller, route and status is already in the
    trail from the last AUDIT_DENIAL_WINDOW_SECONDS.

    The caller is the user, or for anonymous requests the keyed client hash; the route is the
    URL pattern, never the path, which can hold ids and a query string. The window is what keeps
    a scanner from flooding the trail (one locked head row per event): the first denial in a
    window is counted in the shared cache with SET NX, so concurrent processes record it once.
    With the cache down every denial is recorded: the trail is kept whole, not thinned.
    """
    match = getattr(request, "resolver_match", None)
    route = (match.route or "/") if match is not None else "unmatched"
    user = getattr(request, "user", None)
    who = f"u{user.pk}" if user is not None and user.is_authenticated else _client_hash(request)
    key = hashlib.sha256(f"{who}|{route}|{status}".encode()).hexdigest()[:32]
    try:
        first = cache.add(
            f"audit-deny:{key}", 1, timeout=AuditConfig.from_settings().denial_window_s
        )
    except (RedisError, OSError) as exc:
        logger.warning("denial audit window unavailable, recording this one: %s", exc)
        first = True
    if not first:
        return None
    return audit_record(
        action="access.denied",
        request=request,
        outcome=Outcome.DENIED,
        detail={
            "route": route,
            "method": request.method or "",
            "status": status,
            "reason": reason,
        },
    )


# --- Checkpoints -------------------------------------------------------------------------------


def _walk(*, after: AuditCheckpoint | None, through_seq: int) -> ChainWalk:
    """Verify events (after.seq, through_seq]; raise AuditChainBroken at the first bad one."""
    walk = ChainWalk(after.seq + 1, after.hash) if after else ChainWalk()
    events = AuditEvent.objects.filter(seq__gte=walk.next_seq, seq__lte=through_seq)
    for event in events.order_by("seq").iterator(chunk_size=2000):
        problem = walk.step(event)
        if problem:
            raise AuditChainBroken(walk.next_seq, problem)
    if walk.last_seq != through_seq:
        raise AuditChainBroken(walk.next_seq, f"event {walk.next_seq} is missing")
    return walk


def _checkpoint_write(*, kind: str, seq: int, hash: str) -> AuditCheckpoint:
    """Sign and store a checkpoint. Call while holding the head row lock: checkpoints chain by
    ``prev_signature``, and two writers reading the same predecessor would fork that chain."""
    previous = AuditCheckpoint.objects.order_by("-id").first()
    prev_signature = previous.signature if previous else ""
    created_at = timezone.now()
    kid, signature = checkpoint_sign(
        kind=kind, seq=seq, hash=hash, created_at=created_at, prev_signature=prev_signature
    )
    checkpoint = AuditCheckpoint.objects.create(
        kind=kind,
        seq=seq,
        hash=hash,
        created_at=created_at,
        prev_signature=prev_signature,
        key_id=kid,
        signature=signature,
    )
    # Also in the logs, which are shipped elsewhere: a witness outside this database, should
    # someone delete the newest checkpoints together with the events they vouch for.
    logger.info(
        "audit checkpoint #%s kind=%s seq=%s hash=%s signature=%s",
        checkpoint.pk,
        kind,
        seq,
        hash,
        signature,
    )
    return checkpoint


def audit_checkpoint_create() -> AuditCheckpoint | None:
    """Sign the current head if events were added since the newest checkpoint; else None.

    The events since that checkpoint are verified first, so a checkpoint never vouches for a
    chain that was already damaged (AuditChainBroken is raised instead). Idempotent: running it
    twice, or from two processes, writes one checkpoint per head position.
    """
    head = AuditHead.objects.filter(pk=1).first()
    if head is None or head.seq == 0:
        return None
    base = AuditCheckpoint.objects.order_by("-seq", "-id").first()
    if base is not None and base.seq >= head.seq:
        return None
    # The walk runs without locks (appends go on meanwhile); only the write below takes one.
    walk = _walk(after=base, through_seq=head.seq)
    if walk.prev_hash != head.hash:
        raise AuditChainBroken(head.seq, "the head row does not match the last event")
    with transaction.atomic():
        AuditHead.objects.select_for_update().get(pk=1)
        if AuditCheckpoint.objects.filter(seq__gte=head.seq).exists():
            return None  # another process signed this position (or a later one) meanwhile
        return _checkpoint_write(kind=CheckpointKind.PERIODIC, seq=head.seq, hash=head.hash)


# --- Retention ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PurgePlan:
    """What a purge removes (or, after a dry run, would remove)."""

    cutoff: dt.datetime
    through_seq: int | None  # events with seq <= this go; None: nothing is old enough
    events: int
    checkpoint_id: int | None  # the signed checkpoint the remaining chain is anchored to
    anchor_id: int | None = None  # the purge anchor written (None on a dry run)


def _latest_anchor() -> AuditCheckpoint | None:
    return AuditCheckpoint.objects.filter(kind=CheckpointKind.PURGE).order_by("-seq").first()


def audit_purge(*, dry_run: bool = False, now: dt.datetime | None = None, user=None) -> PurgePlan:
    """Delete events older than AUDIT_RETENTION_DAYS, but only up to a signed checkpoint.

    The cut is at the newest checkpoint whose event is older than the cutoff, so what remains
    starts right after a signed hash. A purge anchor (a checkpoint of kind "purge") records that
    hash; audit_verify starts from it and still catches tampering in what remains. The stretch to
    delete is verified first: evidence of tampering is never purged (AuditChainBroken).
    """
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.AUDIT_RETENTION_DAYS)
    anchor = _latest_anchor()
    start = anchor.seq if anchor else 0
    old_seqs = AuditEvent.objects.filter(at__lt=cutoff).values("seq")
    target = (
        AuditCheckpoint.objects.filter(seq__gt=start, seq__in=Subquery(old_seqs))
        .order_by("-seq", "-id")
        .first()
    )
    if target is None:
        return PurgePlan(cutoff, None, 0, None)
    count = AuditEvent.objects.filter(seq__gt=start, seq__lte=target.seq).count()
    plan = PurgePlan(cutoff, target.seq, count, target.pk)
    if dry_run:
        return plan

    problem = checkpoint_signature_problem(target)
    if problem:
        raise AuditChainBroken(target.seq, f"checkpoint #{target.pk} {problem}")
    walk = _walk(after=anchor, through_seq=target.seq)
    if walk.prev_hash != target.hash:
        raise AuditChainBroken(target.seq, f"differs from signed checkpoint #{target.pk}")

    with transaction.atomic():
        AuditHead.objects.select_for_update().get(pk=1)
        purge_anchor = _checkpoint_write(
            kind=CheckpointKind.PURGE, seq=target.seq, hash=target.hash
        )
        if connection.vendor == "postgresql":
            # Transaction-local: the append-only trigger lets exactly these rows go, and only
            # until this transaction ends.
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT set_config('audit.purge_through', %s, true)", [str(target.seq)]
                )
        deleted, _ = AuditEvent.objects.filter(seq__lte=target.seq).delete()
        audit_record(
            action="audit.purge",
            user=user,
            object_type="audit_checkpoint",
            object_id=purge_anchor.pk,
            detail={
                "through_seq": target.seq,
                "events_deleted": deleted,
                "cutoff": cutoff.date().isoformat(),
                "retention_days": settings.AUDIT_RETENTION_DAYS,
            },
        )
    return PurgePlan(cutoff, target.seq, deleted, target.pk, purge_anchor.pk)
