"""The audit chain verifies when intact and names the first tampered event otherwise."""

import pytest

from portal.audit.models import AuditEvent, AuditHead
from portal.audit.selectors import audit_verify
from portal.audit.services import audit_record


@pytest.fixture
def chain(db, make_user):
    user = make_user("admin")
    for i in range(5):
        audit_record(action="knowledge.upload", user=user, object_type="doc", object_id=i)
    return list(AuditEvent.objects.order_by("seq"))


def test_intact_chain_verifies(chain):
    check = audit_verify()
    assert check.ok and check.checked == 5
    assert chain[0].actor_role == "admin"


def test_edited_event_is_caught(chain):
    AuditEvent.objects.filter(seq=3).update(action="knowledge.delete")
    check = audit_verify()
    assert not check.ok and check.first_bad_seq == 3


def test_deleted_event_is_caught(chain):
    AuditEvent.objects.filter(seq=2).delete()
    assert audit_verify().first_bad_seq == 2


def test_truncated_tail_is_caught(chain):
    AuditEvent.objects.filter(seq__gte=4).delete()
    check = audit_verify()
    assert not check.ok and "removed" in check.problem


def test_reordered_events_are_caught(chain):
    AuditEvent.objects.filter(seq=2).update(seq=100)
    AuditEvent.objects.filter(seq=3).update(seq=2)
    AuditEvent.objects.filter(seq=100).update(seq=3)
    assert not audit_verify().ok


def test_inserted_event_is_caught(chain):
    # Make room after event 2 and slip a forged event in, linked to event 2's hash.
    for event in reversed(chain[2:]):
        AuditEvent.objects.filter(pk=event.pk).update(seq=event.seq + 1)
    AuditEvent.objects.create(
        seq=3,
        at=chain[1].at,
        actor_role="admin",
        action="forged",
        prev_hash=chain[1].hash,
        hash="f" * 64,
    )
    check = audit_verify()
    assert not check.ok and check.first_bad_seq == 3
    assert AuditHead.objects.get(pk=1).seq == 5
