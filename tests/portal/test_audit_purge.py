"""Retention: the purge deletes only up to a signed checkpoint and leaves a verifiable chain."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection
from django.utils import timezone

from portal.audit.models import AuditCheckpoint, AuditEvent, CheckpointKind
from portal.audit.selectors import audit_verify
from portal.audit.services import (
    AuditChainBroken,
    audit_checkpoint_create,
    audit_purge,
    audit_record,
)
from tests.portal.test_audit import attacker, empty_audit_trail

# Instead of waiting six years: the purge is asked what it would do seven years from now.
LATER = timezone.now() + dt.timedelta(days=7 * 365)


@pytest.fixture
def trail(db):
    """Events 1-6, checkpoint at 6, events 7-9 (not yet checkpointed)."""
    empty_audit_trail()
    for i in range(6):
        audit_record(action="qa.ask", detail={"n": i})
    audit_checkpoint_create()
    for i in range(3):
        audit_record(action="knowledge.upload", detail={"n": i})


def test_nothing_is_purged_inside_the_retention_period(trail):
    plan = audit_purge()
    assert plan.through_seq is None and AuditEvent.objects.count() == 9


def test_dry_run_changes_nothing(trail, capsys):
    plan = audit_purge(dry_run=True, now=LATER)
    assert (plan.through_seq, plan.events, plan.anchor_id) == (6, 6, None)
    assert AuditEvent.objects.count() == 9 and AuditCheckpoint.objects.count() == 1


def test_purge_stops_at_the_newest_old_enough_checkpoint_and_verifies_after(trail):
    plan = audit_purge(now=LATER)
    # Events 7-9 are just as old, but no signed checkpoint covers them: they stay.
    assert (plan.through_seq, plan.events) == (6, 6)
    assert list(AuditEvent.objects.values_list("seq", flat=True)) == [7, 8, 9, 10]
    anchor = AuditCheckpoint.objects.get(pk=plan.anchor_id)
    assert anchor.kind == CheckpointKind.PURGE and anchor.seq == 6
    purge_event = AuditEvent.objects.get(seq=10)
    assert purge_event.action == "audit.purge" and purge_event.detail["events_deleted"] == 6
    check = audit_verify()
    assert check.ok and check.starts_after == 6 and check.checked == 4


def test_tampering_after_a_purge_is_still_caught(trail):
    audit_purge(now=LATER)
    with attacker():
        AuditEvent.objects.filter(seq=7).delete()  # the first event after the anchor
    check = audit_verify()
    assert not check.ok and check.first_bad_seq == 7


def test_deleting_the_start_without_an_anchor_is_caught(trail):
    # What a purge that skipped the anchor would look like: the start is simply missing.
    with attacker():
        AuditEvent.objects.filter(seq__lte=6).delete()
    assert audit_verify().first_bad_seq == 1


def test_a_forged_purge_anchor_is_caught(trail):
    anchor = audit_purge(now=LATER).anchor_id
    with attacker():
        AuditCheckpoint.objects.filter(pk=anchor).update(seq=8)  # "purged" 7 and 8 as well
        AuditEvent.objects.filter(seq__in=[7, 8]).delete()
    check = audit_verify()
    assert not check.ok and check.bad_checkpoint_id == anchor


def test_purges_repeat_and_the_chain_keeps_verifying(trail):
    audit_purge(now=LATER)
    audit_checkpoint_create()  # signs event 10 (the purge's own event)
    audit_record(action="qa.ask")
    plan = audit_purge(now=LATER)
    assert plan.through_seq == 10 and list(AuditEvent.objects.values_list("seq", flat=True)) == [
        11,
        12,
    ]
    assert audit_verify().ok


def test_a_tampered_stretch_is_never_purged(trail):
    with attacker():
        AuditEvent.objects.filter(seq=3).update(action="x")
    with pytest.raises(AuditChainBroken) as caught:
        audit_purge(now=LATER)
    assert caught.value.seq == 3 and AuditEvent.objects.count() == 9


def test_purge_command(db, capsys, settings):
    settings.AUDIT_RETENTION_DAYS = 30
    empty_audit_trail()
    # The clock is the one thing faked: these events and their checkpoint were written 40 days ago.
    with mock.patch("django.utils.timezone.now", return_value=timezone.now() - dt.timedelta(40)):
        for _ in range(4):
            audit_record(action="qa.ask")
        audit_checkpoint_create()
    audit_record(action="qa.ask")

    call_command("audit_purge", "--dry-run")
    assert "would delete 4 events through event 4" in capsys.readouterr().out
    call_command("audit_purge")
    assert "deleted 4 events through event 4" in capsys.readouterr().out
    call_command("audit_verify")
    assert "after purge anchor at event 4" in capsys.readouterr().out
    call_command("audit_purge")
    assert "nothing to purge" in capsys.readouterr().out


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="PostgreSQL trigger")
def test_the_purge_permission_ends_with_its_transaction():
    empty_audit_trail_committed()
    for _ in range(3):
        audit_record(action="qa.ask")
    audit_checkpoint_create()
    audit_record(action="qa.ask")
    assert audit_purge(now=LATER).through_seq == 3
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(current_setting('audit.purge_through', true), '')")
        assert cursor.fetchone()[0] == ""
    with pytest.raises(DatabaseError, match="append-only: DELETE"):
        AuditEvent.objects.filter(seq=4).delete()
    assert audit_verify().ok


def empty_audit_trail_committed() -> None:
    from django.db import transaction

    with transaction.atomic():
        empty_audit_trail()
