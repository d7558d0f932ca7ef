"""Keys and keyed hashes of the audit trail.

One secret, AUDIT_HMAC_KEY (from the environment; derived from SECRET_KEY in development and
tests only), signs checkpoints and, through sub-keys, turns client addresses and attempted
usernames into keyed hashes: the trail can tell "the same address again" without holding the
address. AUDIT_HMAC_PREVIOUS_KEYS keeps checkpoints signed before a key rotation verifiable.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

from django.conf import settings

from portal.audit.models import AuditCheckpoint

_SIGNATURE_VERSION = "audit-checkpoint/v1"


def _key_bytes(key: str) -> bytes:
    return key.encode("utf-8")


def key_id(key: str) -> str:
    """A short public name for a key, so a checkpoint says which key signed it."""
    return hmac.new(_key_bytes(key), b"audit-key-id", hashlib.sha256).hexdigest()[:16]


def _keys() -> dict[str, str]:
    keys = [settings.AUDIT_HMAC_KEY, *settings.AUDIT_HMAC_PREVIOUS_KEYS]
    return {key_id(k): k for k in keys}


def keyed_hash(purpose: str, value: str) -> str:
    """HMAC of ``value`` under a sub-key for ``purpose`` ("client", "username"), 32 hex chars."""
    subkey = hmac.new(_key_bytes(settings.AUDIT_HMAC_KEY), purpose.encode(), hashlib.sha256)
    return hmac.new(subkey.digest(), value.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def _message(
    *, kind: str, seq: int, hash: str, created_at: dt.datetime, prev_signature: str, kid: str
) -> bytes:
    stamp = created_at.astimezone(dt.UTC).isoformat(timespec="microseconds")
    parts = (_SIGNATURE_VERSION, kind, str(seq), hash, stamp, prev_signature, kid)
    return "\n".join(parts).encode("utf-8")


def checkpoint_sign(
    *, kind: str, seq: int, hash: str, created_at: dt.datetime, prev_signature: str
) -> tuple[str, str]:
    """(key id, signature) for a new checkpoint, with the current key."""
    key = settings.AUDIT_HMAC_KEY
    kid = key_id(key)
    message = _message(
        kind=kind, seq=seq, hash=hash, created_at=created_at, prev_signature=prev_signature, kid=kid
    )
    return kid, hmac.new(_key_bytes(key), message, hashlib.sha256).hexdigest()


def checkpoint_signature_problem(checkpoint: AuditCheckpoint) -> str | None:
    """None when the checkpoint's signature is genuine, else what is wrong with it."""
    key = _keys().get(checkpoint.key_id)
    if key is None:
        return "is signed with an unknown key (forged, or AUDIT_HMAC_PREVIOUS_KEYS lacks it)"
    message = _message(
        kind=checkpoint.kind,
        seq=checkpoint.seq,
        hash=checkpoint.hash,
        created_at=checkpoint.created_at,
        prev_signature=checkpoint.prev_signature,
        kid=checkpoint.key_id,
    )
    expected = hmac.new(_key_bytes(key), message, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, checkpoint.signature):
        return "has a signature that does not match its content (forged or edited)"
    return None
