"""Reading the audit trail: verifying it, filtering it, exporting it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils import timezone

from portal.audit.chain import ChainWalk
from portal.audit.models import AuditCheckpoint, AuditEvent, AuditHead, CheckpointKind
from portal.audit.signing import checkpoint_signature_problem


@dataclass(frozen=True)
class ChainCheck:
    """The verdict of audit_verify. When not ok, ``first_bad_seq`` names the first bad event, or
    ``bad_checkpoint_id`` the bad checkpoint, and ``problem`` says what is wrong."""

    ok: bool
    checked: int
    first_bad_seq: int | None = None
    problem: str = ""
    bad_checkpoint_id: int | None = None
    checkpoints: int = 0
    starts_after: int = 0  # seq of the purge anchor the chain starts from (0: from genesis)


@dataclass
class _CheckpointSummary:
    count: int = 0
    anchor: tuple[int, str] | None = None  # (seq, hash) of the newest purge anchor
    furthest: tuple[int, int] | None = None  # (seq, id) of the checkpoint furthest along


def _checkpoints_check() -> ChainCheck | _CheckpointSummary:
    """Signatures and the checkpoints' own chain, streamed (years of checkpoints add up)."""
    summary, prev_signature = _CheckpointSummary(), ""
    for checkpoint in AuditCheckpoint.objects.order_by("id").iterator(chunk_size=2000):
        problem = checkpoint_signature_problem(checkpoint)
        if checkpoint.prev_signature != prev_signature:
            problem = "follows a checkpoint that was removed or changed"
        if problem:
            return ChainCheck(
                False,
                0,
                problem=f"checkpoint #{checkpoint.pk} {problem}",
                bad_checkpoint_id=checkpoint.pk,
            )
        prev_signature = checkpoint.signature
        summary.count += 1
        if checkpoint.kind == CheckpointKind.PURGE and (
            summary.anchor is None or checkpoint.seq > summary.anchor[0]
        ):
            summary.anchor = (checkpoint.seq, checkpoint.hash)
        if summary.furthest is None or checkpoint.seq > summary.furthest[0]:
            summary.furthest = (checkpoint.seq, checkpoint.pk)
    return summary


def audit_verify() -> ChainCheck:
    """Verify checkpoints (signatures, their own chain), then walk the events in order.

    The walk starts at genesis, or after the newest purge anchor. It reports the first event that
    is missing, mislinked or altered; the first signed checkpoint the chain does not pass through
    (a consistent rewrite with recomputed hashes); events vouched for by a checkpoint but gone (a
    cut tail, even when the head row was rewritten to match); and a head row out of step. Memory
    stays flat: events and checkpoints are both streamed in seq order and merged.
    """
    summary = _checkpoints_check()
    if isinstance(summary, ChainCheck):
        return summary
    walk = ChainWalk(summary.anchor[0] + 1, summary.anchor[1]) if summary.anchor else ChainWalk()
    starts_after = walk.last_seq

    def broken(seq: int, problem: str, checkpoint_id: int | None = None) -> ChainCheck:
        return ChainCheck(
            False, walk.checked, seq, problem, checkpoint_id, summary.count, starts_after
        )

    vouchers = (
        AuditCheckpoint.objects.filter(seq__gt=starts_after)
        .order_by("seq", "id")
        .values_list("seq", "pk", "hash")
        .iterator(chunk_size=2000)
    )
    voucher = next(vouchers, None)
    last_good_checkpoint = starts_after
    events = AuditEvent.objects.filter(seq__gt=starts_after).order_by("seq")
    for event in events.iterator(chunk_size=2000):
        problem = walk.step(event)
        if problem:
            return broken(walk.next_seq, problem)
        # The walk only moves on from an event that exists, so a voucher is never skipped.
        while voucher is not None and voucher[0] == event.seq:
            if voucher[2] != event.hash:
                return broken(
                    event.seq,
                    f"the chain does not pass through signed checkpoint #{voucher[1]}: "
                    f"events after {last_good_checkpoint} were rewritten",
                    voucher[1],
                )
            last_good_checkpoint = event.seq
            voucher = next(vouchers, None)

    if summary.furthest is not None and summary.furthest[0] > walk.last_seq:
        seq, pk = summary.furthest
        return broken(
            walk.next_seq,
            f"events {walk.next_seq}..{seq} were removed (signed checkpoint #{pk} vouches for "
            f"event {seq})",
            pk,
        )
    head = AuditHead.objects.filter(pk=1).first()
    if head and (head.seq != walk.last_seq or head.hash != walk.prev_hash):
        if head.seq > walk.last_seq:
            problem = f"events {walk.next_seq}..{head.seq} were removed (the head row says so)"
        else:
            problem = "the head row does not match the last event"
        return broken(walk.next_seq, problem)
    return ChainCheck(True, walk.checked, checkpoints=summary.count, starts_after=starts_after)


# --- Search and export -------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilters:
    """Filters shared by the search page, the export view and ``manage.py audit_export``.

    ``since``/``until`` take a date (whole days, in TIME_ZONE, both inclusive) or a datetime.
    ``action`` is a prefix ("knowledge." matches every knowledge event); ``actor`` a username.
    """

    since: dt.date | dt.datetime | None = None
    until: dt.date | dt.datetime | None = None
    action: str = ""
    actor: str = ""
    role: str = ""
    outcome: str = ""
    object_type: str = ""
    object_id: str = ""

    def as_detail(self) -> dict[str, Any]:
        """The filters as audit-event detail (what an export covered), empty ones left out."""
        return {k: str(v) for k, v in asdict(self).items() if v not in (None, "")}


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def audit_events(filters: AuditFilters) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.all()
    if filters.since is not None:
        since = filters.since
        events = events.filter(
            at__gte=since if isinstance(since, dt.datetime) else _day_start(since)
        )
    if filters.until is not None:
        until = filters.until
        if isinstance(until, dt.datetime):
            events = events.filter(at__lte=until)
        else:
            events = events.filter(at__lt=_day_start(until + dt.timedelta(days=1)))
    if filters.action:
        events = events.filter(action__startswith=filters.action)
    if filters.actor:
        user_ids = get_user_model().objects.filter(username=filters.actor).values("pk")
        events = events.filter(actor_id__in=user_ids)
    for field in ("role", "outcome", "object_type", "object_id"):
        value = getattr(filters, field)
        if value:
            events = events.filter(**{"actor_role" if field == "role" else field: value})
    return events.order_by("seq")


EXPORT_COLUMNS = (
    "seq",
    "at",
    "actor_id",
    "actor",
    "actor_role",
    "action",
    "outcome",
    "object_type",
    "object_id",
    "client",
    "detail",
    "format",
    "prev_hash",
    "hash",
)


def _usernames(user_ids: set[int]) -> dict[int, str]:
    user_model = get_user_model()
    return dict(
        user_model.objects.filter(pk__in=user_ids).values_list("pk", user_model.USERNAME_FIELD)
    )


def audit_export(filters: AuditFilters, *, batch: int = 2000) -> Iterator[dict[str, Any]]:
    """Matching events as plain rows (EXPORT_COLUMNS), oldest first, streamed in batches.

    Rows keep ``prev_hash`` and ``hash``, so an unfiltered export can be re-verified offline.
    """
    pending: list[AuditEvent] = []

    def flush() -> Iterator[dict[str, Any]]:
        names = _usernames({e.actor_id for e in pending if e.actor_id is not None})
        for event in pending:
            yield {
                "seq": event.seq,
                "at": event.at.isoformat(),
                "actor_id": event.actor_id,
                "actor": names.get(event.actor_id, "") if event.actor_id else "",
                "actor_role": event.actor_role,
                "action": event.action,
                "outcome": event.outcome,
                "object_type": event.object_type,
                "object_id": event.object_id,
                "client": event.client,
                "detail": event.detail,
                "format": event.format,
                "prev_hash": event.prev_hash,
                "hash": event.hash,
            }
        pending.clear()

    for event in audit_events(filters).iterator(chunk_size=batch):
        pending.append(event)
        if len(pending) >= batch:
            yield from flush()
    yield from flush()
