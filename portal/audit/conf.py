"""Typed, validated configuration of the audit trail (docs/audit.md).

``AuditConfig.from_settings()`` reads the AUDIT_* Django settings (portal/settings.py, section
"Audit") when it is called, so ``override_settings`` in a test is seen exactly as production's
environment is; constructing one directly runs the same validation. A bad value raises
ImproperlyConfigured naming the setting.

The key's *strength* is not checked here: a development key derived from SECRET_KEY is valid for
development and tests, and ``manage.py check --deploy`` (portal/audit/checks.py) is what refuses a
short or development key in production. The keys are kept out of the object's repr.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import ImproperlyConfigured

from portal.env import check_float, check_int, check_str, check_str_tuple


@dataclass(frozen=True)
class AuditConfig:
    """How the audit trail signs, keys, keeps and attributes its events."""

    #: AUDIT_HMAC_KEY: signs checkpoints and keys the hashes of client addresses and attempted
    #: usernames. Required in production (32+ characters, checked by ``check --deploy``).
    hmac_key: str = field(repr=False, default="")
    #: AUDIT_HMAC_PREVIOUS_KEYS: keys retired by a rotation, so old checkpoints still verify.
    hmac_previous_keys: tuple[str, ...] = field(repr=False, default=())
    #: AUDIT_CHECKPOINT_EVERY_S: seconds between signed checkpoints (Celery beat; > 0). Events
    #: after the newest checkpoint are protected by the hash chain alone.
    checkpoint_every_s: float = 600.0
    #: AUDIT_RETENTION_DAYS: events older than this may be purged (>= 1; default six years).
    retention_days: int = 6 * 365
    #: AUDIT_PROXY_COUNT: trusted reverse proxies in front of the app (>= 0). 0: the client
    #: address is REMOTE_ADDR and X-Forwarded-For is ignored (clients can forge it).
    proxy_count: int = 0
    #: AUDIT_DENIAL_WINDOW_SECONDS: refused requests (401, 403) are recorded at most once per
    #: caller, route and status in this many seconds (>= 1), so a scan cannot flood the trail.
    denial_window_s: int = 300

    def __post_init__(self) -> None:
        key = check_str("AUDIT_HMAC_KEY", self.hmac_key, required=True)
        previous = check_str_tuple("AUDIT_HMAC_PREVIOUS_KEYS", self.hmac_previous_keys)
        if key in previous:
            raise ImproperlyConfigured(
                "AUDIT_HMAC_PREVIOUS_KEYS must not list the current AUDIT_HMAC_KEY."
            )
        object.__setattr__(self, "hmac_previous_keys", previous)
        if check_float("AUDIT_CHECKPOINT_EVERY_S", self.checkpoint_every_s) <= 0:
            raise ImproperlyConfigured(
                f"AUDIT_CHECKPOINT_EVERY_S must be > 0, got {self.checkpoint_every_s}."
            )
        check_int("AUDIT_RETENTION_DAYS", self.retention_days, minimum=1)
        check_int("AUDIT_PROXY_COUNT", self.proxy_count, minimum=0)
        check_int("AUDIT_DENIAL_WINDOW_SECONDS", self.denial_window_s, minimum=1)

    @property
    def verification_keys(self) -> tuple[str, ...]:
        """The current key first, then the retired ones: what a checkpoint may be signed with."""
        return (self.hmac_key, *self.hmac_previous_keys)

    @classmethod
    def from_settings(cls, settings=None) -> AuditConfig:
        """Read the AUDIT_* settings (now)."""
        if settings is None:
            from django.conf import settings
        s = settings
        return cls(
            hmac_key=s.AUDIT_HMAC_KEY,
            hmac_previous_keys=s.AUDIT_HMAC_PREVIOUS_KEYS,
            checkpoint_every_s=s.AUDIT_CHECKPOINT_EVERY_S,
            retention_days=s.AUDIT_RETENTION_DAYS,
            proxy_count=s.AUDIT_PROXY_COUNT,
            denial_window_s=s.AUDIT_DENIAL_WINDOW_SECONDS,
        )
