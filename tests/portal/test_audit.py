"""The audit chain verifies when intact, and names the first bad record for every kind of tamper.

Tampering is done directly in the database, as someone with database rights would: ``attacker()``
switches the append-only trigger off for the test's transaction, the way a superuser could.
"""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from portal.audit.chain import GENESIS, event_digest, event_fields
from portal.audit.models import AuditCheckpoint, AuditEvent, AuditHead, CheckpointKind
from portal.audit.selectors import audit_verify
from portal.audit.services import AuditChainBroken, audit_checkpoint_create, audit_record
from portal.audit.signing import checkpoint_sign
from portal.audit.tasks import audit_checkpoint_task

postgres_only = pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="the append-only trigger is PostgreSQL's"
)


@contextmanager
def attacker():
    """Bypass the append-only triggers for the rest of the block (needs superuser rights)."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = origin")


def rewrite_from(seq: int, **changes) -> None:
    """Edit event ``seq`` and recompute every hash after it, as a careful attacker would."""
    events = list(AuditEvent.objects.filter(seq__gte=seq).order_by("seq"))
    prev_hash = AuditEvent.objects.get(seq=seq - 1).hash if seq > 1 else GENESIS
    with attacker():
        for event in events:
            if event.seq == seq:
                for name, value in changes.items():
                    setattr(event, name, value)
            event.prev_hash = prev_hash
            event.hash = event_digest(prev_hash=prev_hash, fields=event_fields(event))
            event.save()
            prev_hash = event.hash
        AuditHead.objects.filter(pk=1).update(hash=prev_hash)


def verify_fails_at(seq: int) -> str:
    """audit_verify and the command both name event ``seq``; returns the problem text."""
    check = audit_verify()
    assert not check.ok and check.first_bad_seq == seq, check
    with pytest.raises(CommandError, match=rf"broken at event {seq}:"):
        call_command("audit_verify")
    return check.problem


def empty_audit_trail() -> None:
    """Start a test from genesis: migrate already recorded the role permissions it granted."""
    with attacker():
        AuditEvent.objects.all().delete()
        AuditCheckpoint.objects.all().delete()
        AuditHead.objects.all().delete()


@pytest.fixture
def chain(db):
    empty_audit_trail()
    return [
        audit_record(action="knowledge.upload", object_type="doc", object_id=i) for i in range(5)
    ]


def test_intact_chain_verifies(chain, capsys):
    check = audit_verify()
    assert check.ok and check.checked == 5
    assert [e.seq for e in chain] == [1, 2, 3, 4, 5] and chain[0].actor_role == "system"
    call_command("audit_verify")
    assert "audit chain ok: 5 events" in capsys.readouterr().out


def test_edited_event_is_caught(chain):
    with attacker():
        AuditEvent.objects.filter(seq=3).update(action="knowledge.delete")
    assert "changed" in verify_fails_at(3)


def test_edited_outcome_is_caught(chain):
    with attacker():
        AuditEvent.objects.filter(seq=2).update(outcome="denied")
    verify_fails_at(2)


def test_deleted_event_is_caught(chain):
    with attacker():
        AuditEvent.objects.filter(seq=2).delete()
    assert "missing" in verify_fails_at(2)


def test_reordered_events_are_caught(chain):
    with attacker():
        AuditEvent.objects.filter(seq=2).update(seq=100)
        AuditEvent.objects.filter(seq=3).update(seq=2)
        AuditEvent.objects.filter(seq=100).update(seq=3)
    assert "link" in verify_fails_at(2)


def test_inserted_event_is_caught(chain):
    # Make room after event 2 and slip a forged event in, linked to event 2's hash.
    with attacker():
        for event in reversed(chain[2:]):
            AuditEvent.objects.filter(pk=event.pk).update(seq=event.seq + 1)
        forged = AuditEvent(seq=3, at=chain[1].at, actor_role="admin", action="forged")
        forged.prev_hash = chain[1].hash
        forged.hash = event_digest(prev_hash=chain[1].hash, fields=event_fields(forged))
        forged.save()
    # The forged event itself is well-formed; the event after it no longer links.
    assert "link" in verify_fails_at(4)
    assert AuditHead.objects.get(pk=1).seq == 5


def test_truncated_tail_is_caught_by_the_head(chain):
    with attacker():
        AuditEvent.objects.filter(seq__gte=4).delete()
    assert "removed" in verify_fails_at(4)


def test_truncated_tail_is_caught_by_a_checkpoint_even_with_the_head_rewritten(chain):
    audit_checkpoint_create()
    with attacker():
        AuditEvent.objects.filter(seq__gte=4).delete()
        AuditHead.objects.filter(pk=1).update(seq=3, hash=chain[2].hash)
    problem = verify_fails_at(4)
    assert "4..5 were removed" in problem and "checkpoint" in problem


def test_a_consistent_rewrite_is_caught_at_the_next_checkpoint(chain):
    audit_checkpoint_create()  # signs event 5
    rewrite_from(3, action="knowledge.nothing_happened")
    # Every link and digest is consistent now; only the signed hash at event 5 disagrees.
    assert "signed checkpoint" in verify_fails_at(5)


def test_events_after_a_good_checkpoint_still_verify(chain):
    audit_checkpoint_create()
    audit_record(action="qa.ask")
    check = audit_verify()
    assert check.ok and check.checked == 6 and check.checkpoints == 1


def test_legacy_format_1_events_still_verify(db):
    empty_audit_trail()
    # Rows written before ``outcome`` existed were hashed without it (and without ``format``).
    from django.utils import timezone

    legacy = AuditEvent(seq=1, at=timezone.now(), actor_role="system", action="old", format=1)
    legacy.prev_hash = GENESIS
    legacy.hash = event_digest(prev_hash=GENESIS, fields=event_fields(legacy))
    assert "outcome" not in event_fields(legacy)
    legacy.save()
    AuditHead.objects.create(pk=1, seq=1, hash=legacy.hash)
    audit_record(action="new")
    assert audit_verify().ok


# --- Checkpoints -------------------------------------------------------------------------------


def test_checkpoint_task_is_idempotent_and_follows_the_head(chain, settings):
    assert settings.CELERY_BEAT_SCHEDULE["audit-checkpoint"]["task"] == "audit.checkpoint"
    first = audit_checkpoint_task.apply().get()
    assert audit_checkpoint_task.apply().get() is None  # nothing new: nothing written
    assert AuditCheckpoint.objects.count() == 1
    audit_record(action="qa.ask")
    second = audit_checkpoint_task.apply().get()
    cp1, cp2 = AuditCheckpoint.objects.get(pk=first), AuditCheckpoint.objects.get(pk=second)
    assert (cp1.seq, cp2.seq) == (5, 6) and cp2.prev_signature == cp1.signature
    assert cp2.hash == AuditEvent.objects.get(seq=6).hash


def test_checkpoint_refuses_to_sign_a_damaged_chain(chain):
    with attacker():
        AuditEvent.objects.filter(seq=2).update(object_id="x")
    with pytest.raises(AuditChainBroken) as caught:
        audit_checkpoint_create()
    assert caught.value.seq == 2 and not AuditCheckpoint.objects.exists()
    with pytest.raises(CommandError, match="no checkpoint was written"):
        call_command("audit_checkpoint")


def test_checkpoint_forged_with_a_wrong_key_is_caught(chain, settings):
    real = audit_checkpoint_create()
    # The attacker cuts the tail, rewrites the head and replaces the checkpoint with one they
    # signed themselves: they have the database, not the key.
    with attacker():
        AuditEvent.objects.filter(seq__gte=4).delete()
        AuditHead.objects.filter(pk=1).update(seq=3, hash=chain[2].hash)
        AuditCheckpoint.objects.filter(pk=real.pk).delete()
        real_key = settings.AUDIT_HMAC_KEY
        settings.AUDIT_HMAC_KEY = "attacker-guess-" + "x" * 32
        kid, signature = checkpoint_sign(
            kind="periodic",
            seq=3,
            hash=chain[2].hash,
            created_at=real.created_at,
            prev_signature="",
        )
        settings.AUDIT_HMAC_KEY = real_key
        forged = AuditCheckpoint.objects.create(
            seq=3, hash=chain[2].hash, created_at=real.created_at, key_id=kid, signature=signature
        )
    check = audit_verify()
    assert not check.ok and check.bad_checkpoint_id == forged.pk
    assert "unknown key" in check.problem
    with pytest.raises(CommandError, match=rf"broken at checkpoint {forged.pk}"):
        call_command("audit_verify")


def test_checkpoint_edited_in_place_is_caught(chain):
    checkpoint = audit_checkpoint_create()
    with attacker():
        AuditCheckpoint.objects.filter(pk=checkpoint.pk).update(seq=3, hash=chain[2].hash)
    check = audit_verify()
    assert check.bad_checkpoint_id == checkpoint.pk and "does not match" in check.problem


def test_removing_a_checkpoint_from_the_middle_is_caught(chain):
    first = audit_checkpoint_create()
    audit_record(action="qa.ask")
    second = audit_checkpoint_create()
    with attacker():
        AuditCheckpoint.objects.filter(pk=first.pk).delete()
    check = audit_verify()
    assert check.bad_checkpoint_id == second.pk
    assert "follows a checkpoint that was removed" in check.problem


def test_checkpoints_survive_a_key_rotation(chain, settings):
    audit_checkpoint_create()
    old_key = settings.AUDIT_HMAC_KEY
    settings.AUDIT_HMAC_KEY = "rotated-" + "k" * 40
    assert not audit_verify().ok  # the old key is gone: old checkpoints cannot be checked
    settings.AUDIT_HMAC_PREVIOUS_KEYS = [old_key]
    audit_record(action="qa.ask")
    audit_checkpoint_create()  # signed with the new key
    assert audit_verify().ok


# --- The append-only trigger (PostgreSQL) ------------------------------------------------------


def _refused(statement) -> str:
    with pytest.raises(DatabaseError) as caught, transaction.atomic():
        statement()
    return str(caught.value)


@postgres_only
def test_trigger_refuses_update_delete_and_truncate(chain):
    assert "append-only: UPDATE" in _refused(
        lambda: AuditEvent.objects.filter(seq=2).update(action="x")
    )
    assert "append-only: DELETE" in _refused(lambda: AuditEvent.objects.filter(seq=5).delete())

    def truncate():
        with connection.cursor() as cursor:
            # This test connection allows TRUNCATE (test settings); production ones do not.
            cursor.execute("SET LOCAL audit.allow_truncate = 'off'")
            cursor.execute("TRUNCATE audit_auditevent")

    assert "append-only: TRUNCATE" in _refused(truncate)
    assert AuditEvent.objects.count() == 5 and audit_verify().ok


@postgres_only
def test_trigger_guards_head_and_checkpoints(chain):
    checkpoint = audit_checkpoint_create()
    assert "UPDATE on audit_audithead" in _refused(
        lambda: AuditHead.objects.filter(pk=1).update(seq=2)
    )
    assert "DELETE on audit_audithead" in _refused(lambda: AuditHead.objects.all().delete())
    assert "UPDATE on audit_auditcheckpoint" in _refused(
        lambda: AuditCheckpoint.objects.filter(pk=checkpoint.pk).update(seq=1)
    )
    assert "DELETE on audit_auditcheckpoint" in _refused(
        lambda: AuditCheckpoint.objects.filter(pk=checkpoint.pk).delete()
    )


@postgres_only
def test_purge_setting_allows_deletes_only_up_to_its_seq(chain):
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('audit.purge_through', '2', true)")
        assert AuditEvent.objects.filter(seq__lte=2).delete()[0] == 2
        assert "append-only: DELETE" in _refused(lambda: AuditEvent.objects.filter(seq=3).delete())
        assert "append-only: UPDATE" in _refused(
            lambda: AuditEvent.objects.filter(seq=3).update(action="x")
        )


def test_checkpoint_kinds_are_signed_into_the_message(chain):
    checkpoint = audit_checkpoint_create()
    with attacker():
        AuditCheckpoint.objects.filter(pk=checkpoint.pk).update(kind=CheckpointKind.PURGE)
    assert "does not match" in audit_verify().problem


# --- Settings ----------------------------------------------------------------------------------


def test_production_refuses_to_start_without_an_audit_key():
    from tests.portal.test_settings import PRODUCTION, _manage

    partial = {k: v for k, v in PRODUCTION.items() if k != "AUDIT_HMAC_KEY"}
    result = _manage("check", extra_env=partial)
    assert result.returncode != 0 and "AUDIT_HMAC_KEY is required" in result.stderr


def test_deploy_check_rejects_short_and_development_keys(settings):
    from portal.audit.checks import audit_key_check

    settings.AUDIT_HMAC_KEY = "too-short"
    assert [e.id for e in audit_key_check(None)] == ["audit.E001"]
    settings.AUDIT_HMAC_KEY = "audit-hmac-development-only:" + "x" * 50
    assert [e.id for e in audit_key_check(None)] == ["audit.E001"]
    settings.AUDIT_HMAC_KEY = "r" * 48
    assert audit_key_check(None) == []
