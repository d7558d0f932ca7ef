"""Sign-in throttling: exponential back-off per account and per client address.

Every failed sign-in counts against two subjects: the account named (its username, Unicode-
normalised and case-folded, whether or not such an account exists, so the throttle does not
reveal which names are real) and the client address (``portal.core.clients.client_address``).
The LOGIN_THROTTLE_FAILURES-th failure (LOGIN_THROTTLE_ADDRESS_FAILURES for an address, higher
because an office behind one NAT address shares it) locks the subject for
LOGIN_THROTTLE_BASE_SECONDS, and each further failure for twice as long as the one before, up to
LOGIN_THROTTLE_MAX_SECONDS. The cap is what keeps the real user from being locked out for long by
someone guessing at their account. While locked, attempts are refused before the password is
looked at and do not count as failures.

An attempt is counted when it begins, as a failure until it succeeds; past the threshold only
the attempt that starts the next lock goes ahead. So a burst of parallel attempts is throttled
like the same attempts one after another. A successful sign-in clears the account's count, and
takes back only its own count from the address: otherwise anyone with one valid account could
reset the count of an address they are guessing from. Counts are forgotten
LOGIN_THROTTLE_FORGET_SECONDS after the last attempt.

Counts live in the shared cache (Redis in production) under keyed hashes, never raw usernames or
addresses. Like the ask limiter (portal/core/ratelimit.py) the throttle fails open: if the cache
is unreachable, sign-in works unthrottled rather than not at all.

Refused attempts are announced with the ``login_throttled`` signal; the audit trail records them
(portal/audit/receivers.py), so this module need not import the audit app above it.
"""

from __future__ import annotations

import logging
import math
import time
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.dispatch import Signal
from django.http import HttpRequest
from django.utils.crypto import salted_hmac
from redis.exceptions import RedisError

from portal.core.clients import client_address
from portal.core.metrics import rate_limited_count

logger = logging.getLogger(__name__)

_CACHE_ERRORS = (RedisError, OSError)  # what a cache outage raises (as in the ask limiter)

# Sent (request=, username=, decision=) for every refused attempt; portal.audit records it.
login_throttled = Signal()


@dataclass(frozen=True)
class ThrottleDecision:
    """Whether a sign-in attempt may be checked now; if not, which subject is locked and for how
    much longer."""

    allowed: bool
    retry_after_s: int = 0
    scope: str = ""  # "account" or "address": the subject whose lock refused the attempt


def username_normalise(username: str) -> str:
    """The form a username is counted under: "Admin", "ADMIN " and "admin" are one account."""
    return unicodedata.normalize("NFKC", username).strip().casefold()


def _subjects(*, username: str, address: str) -> list[tuple[str, str, int]]:
    """(scope, cache key prefix, failure threshold) for each subject an attempt counts against.
    A threshold of 0 switches that subject's throttle off."""
    subjects = []
    name = username_normalise(username)
    if name and settings.LOGIN_THROTTLE_FAILURES:
        # Keyed, so the cache never holds what people type into the username box.
        digest = salted_hmac("portal.accounts.throttle.account", name).hexdigest()[:32]
        subjects.append(("account", f"lt:acct:{digest}", settings.LOGIN_THROTTLE_FAILURES))
    if settings.LOGIN_THROTTLE_ADDRESS_FAILURES:
        digest = salted_hmac("portal.accounts.throttle.address", address or "unknown").hexdigest()
        threshold = settings.LOGIN_THROTTLE_ADDRESS_FAILURES
        subjects.append(("address", f"lt:addr:{digest[:32]}", threshold))
    return subjects


def lock_seconds(*, failures: int, threshold: int) -> float:
    """How long a subject is locked after its ``failures``-th failure (0: not locked)."""
    if failures < threshold:
        return 0.0
    # Capping the exponent first keeps 2 ** n finite however many failures piled up.
    doublings = min(failures - threshold, 32)
    base = float(settings.LOGIN_THROTTLE_BASE_SECONDS)
    return min(float(settings.LOGIN_THROTTLE_MAX_SECONDS), base * 2**doublings)


def _release(prefix: str, *, lock_added: bool) -> None:
    """Undo one reservation: the attempt was refused or succeeded, so it is no failure. A lock
    it started goes too (the one it replaced had run out, so that is the state before it)."""
    key = f"{prefix}:n"
    try:
        if cache.decr(key) < 0:  # expired and restarted meanwhile: never leave credit behind
            cache.delete(key)
    except ValueError:  # the count expired meanwhile: nothing to undo
        pass
    if lock_added:
        cache.delete(f"{prefix}:until")


def _reserve(prefix: str, threshold: int, now: float) -> tuple[bool, bool]:
    """Count this attempt against one subject, as a failure until it succeeds. Returns
    (allowed, lock_added).

    Past the threshold an attempt goes ahead only if the subject's lock has run out, and then
    starts the next, longer one itself. That read-then-write runs under a short mutex (add() is
    SET NX), never held during the password check: of attempts racing for one subject exactly
    one goes ahead, however many arrive in parallel."""
    key = f"{prefix}:n"
    forget_s = settings.LOGIN_THROTTLE_FORGET_SECONDS
    # add() + incr() as in the ask limiter: atomic in Redis, no count lost between processes.
    cache.add(key, 0, timeout=forget_s)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.add(key, 1, timeout=forget_s)
        count = 1
    cache.touch(key, timeout=forget_s)  # forgotten FORGET seconds after the *last* attempt
    delay = lock_seconds(failures=count, threshold=threshold)
    if not delay:
        return True, False
    if not cache.add(f"{prefix}:mutex", 1, timeout=5):  # another attempt is deciding right now
        _release(prefix, lock_added=False)
        return False, False
    try:
        until = cache.get(f"{prefix}:until")
        if until is not None and until > now:
            _release(prefix, lock_added=False)
            return False, False
        # Kept as long as the count, so expiry is judged by the stored time, never by Redis TTLs.
        cache.set(f"{prefix}:until", now + delay, timeout=forget_s)
        return True, True
    finally:
        cache.delete(f"{prefix}:mutex")


def _locked(subjects: list[tuple[str, str, int]], now: float) -> ThrottleDecision | None:
    """The refusal for the longest running lock among ``subjects``, or None."""
    locks = cache.get_many([f"{prefix}:until" for _, prefix, _ in subjects])
    refused: ThrottleDecision | None = None
    for scope, prefix, _ in subjects:
        until = locks.get(f"{prefix}:until")
        if until is not None and until > now:
            retry = max(1, math.ceil(until - now))
            if refused is None or retry > refused.retry_after_s:
                refused = ThrottleDecision(False, retry, scope)
    return refused


def login_attempt_begin(
    *, request: HttpRequest, username: str, now: float | None = None
) -> ThrottleDecision:
    """May this attempt to sign in as ``username`` be checked? Call before the password is.

    An allowed attempt is counted as a failure straight away (``login_success_record`` takes it
    back): counting only after the password check would let a burst of parallel attempts all
    pass the check before any of them was counted. A refusal is counted nowhere, announced
    (``login_throttled``) for the audit trail, and carries the longest lock as Retry-After.
    """
    now = time.time() if now is None else now
    try:
        subjects = _subjects(username=username, address=client_address(request))
        refused = _locked(subjects, now)
        reserved: list[tuple[str, bool]] = []
        for scope, prefix, threshold in subjects if refused is None else ():
            allowed, lock_added = _reserve(prefix, threshold, now)
            if not allowed:  # another attempt started this subject's next lock first
                for done, added in reserved:
                    _release(done, lock_added=added)
                refused = _locked([(scope, prefix, threshold)], now) or ThrottleDecision(
                    False, 1, scope
                )
                break
            reserved.append((prefix, lock_added))
    except _CACHE_ERRORS as exc:  # cache outage: fail open (see the module docstring)
        logger.warning("sign-in throttle unavailable, letting the attempt through: %s", exc)
        return ThrottleDecision(True)
    if refused is not None:
        rate_limited_count("login")
        login_throttled.send(
            sender=login_attempt_begin, request=request, username=username, decision=refused
        )
        return refused
    return ThrottleDecision(True)


def login_success_record(*, request: HttpRequest, username: str) -> None:
    """A successful sign-in: the account's failures and lock are forgotten; the address only
    takes back this attempt's count (a valid account must not reset the count of an address
    someone is guessing from, nor an office's sign-ins add up to a lock)."""
    try:
        for scope, prefix, _ in _subjects(username=username, address=client_address(request)):
            if scope == "account":
                cache.delete_many([f"{prefix}:n", f"{prefix}:until"])
            else:
                _release(prefix, lock_added=False)
    except _CACHE_ERRORS as exc:
        logger.warning("sign-in throttle unavailable, success not recorded: %s", exc)
