"""Reading and verifying the audit trail."""

from __future__ import annotations

from dataclasses import dataclass

from portal.audit.models import AuditEvent, AuditHead
from portal.audit.services import GENESIS, event_digest, event_fields


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    problem: str = ""


def audit_verify() -> ChainCheck:
    """Walk the chain in order; report the first event whose link or content does not match."""
    prev_hash, expected_seq, checked = GENESIS, 1, 0
    for event in AuditEvent.objects.order_by("seq").iterator(chunk_size=2000):
        if event.seq != expected_seq:
            return ChainCheck(False, checked, expected_seq, f"event {expected_seq} is missing")
        if event.prev_hash != prev_hash:
            return ChainCheck(False, checked, event.seq, "link to the previous event is broken")
        if event_digest(prev_hash=prev_hash, fields=event_fields(event)) != event.hash:
            return ChainCheck(False, checked, event.seq, "content was changed after it was written")
        prev_hash, expected_seq, checked = event.hash, expected_seq + 1, checked + 1
    head = AuditHead.objects.filter(pk=1).first()
    if head and (head.seq != checked or head.hash != prev_hash):
        return ChainCheck(False, checked, checked + 1, "events after the last one were removed")
    return ChainCheck(True, checked)
