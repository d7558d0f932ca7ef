"""The hash chain itself: what an event's hash covers, and a walker that checks a stretch of it.

Kept apart from services (writes) and selectors (reads) because both use it: appending computes
the next link, verifying, checkpointing and purging re-compute and compare.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from portal.audit.models import AuditEvent

GENESIS = "0" * 64


def event_fields(event: AuditEvent) -> dict[str, Any]:
    """The fields an event's hash covers. Format 1 events predate ``outcome`` and ``format``."""
    fields = {
        "seq": event.seq,
        "at": event.at.isoformat(),
        "actor_id": event.actor_id,
        "actor_role": event.actor_role,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "client": event.client,
        "detail": event.detail,
    }
    if event.format >= 2:
        fields["format"] = event.format
        fields["outcome"] = event.outcome
    return fields


def event_digest(*, prev_hash: str, fields: dict[str, Any]) -> str:
    canonical = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((prev_hash + canonical).encode("utf-8")).hexdigest()


@dataclass
class ChainWalk:
    """Checks events one by one, in ``seq`` order, starting after a known (seq, hash).

    ``next_seq`` is the seq the next event must have; when ``step`` reports a problem it is
    also the seq of the first bad record.
    """

    next_seq: int = 1
    prev_hash: str = GENESIS
    checked: int = 0

    def step(self, event: AuditEvent) -> str | None:
        """Check ``event`` against the chain so far; advance and return None when it fits."""
        if event.seq != self.next_seq:
            return f"event {self.next_seq} is missing"
        if event.prev_hash != self.prev_hash:
            return "link to the previous event is broken (an event was removed, moved or inserted)"
        if event_digest(prev_hash=self.prev_hash, fields=event_fields(event)) != event.hash:
            return "content was changed after it was written"
        self.next_seq, self.prev_hash, self.checked = event.seq + 1, event.hash, self.checked + 1
        return None

    @property
    def last_seq(self) -> int:
        return self.next_seq - 1
