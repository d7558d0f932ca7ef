"""Sign-in throttling: wrong passwords lock the account and the address with a doubling, capped
back-off; a locked attempt is a 429 with Retry-After that never reaches the password check, is
audited, and the portal's and the admin's sign-in forms share the counts. A cache outage lets
sign-in through unthrottled."""

from __future__ import annotations

import pytest
from django.contrib.auth import SESSION_KEY
from django.core.cache import cache
from django.test import RequestFactory

from portal.accounts.throttle import lock_seconds, login_attempt_begin, login_success_record
from portal.audit.models import AuditEvent
from portal.audit.services import username_fingerprint
from portal.audit.signing import keyed_hash
from tests.portal.test_audit_events import trail_text

PASSWORD = "a-long-test-password-1"  # what conftest's make_user sets
LOGIN = "/accounts/login/"


@pytest.fixture
def throttle(settings):
    settings.LOGIN_THROTTLE_FAILURES = 5
    settings.LOGIN_THROTTLE_ADDRESS_FAILURES = 20
    # A first lock of a minute: the client-level tests must not outlast it by being slow.
    settings.LOGIN_THROTTLE_BASE_SECONDS = 60
    settings.LOGIN_THROTTLE_MAX_SECONDS = 300
    cache.clear()
    yield settings
    cache.clear()


def _sign_in(client, username: str, password: str, path: str = LOGIN, **extra):
    return client.post(path, {"username": username, "password": password}, **extra)


def _count(action: str) -> int:
    return AuditEvent.objects.filter(action=action).count()


def test_wrong_passwords_lock_the_account_even_for_the_right_password(client, make_user, throttle):
    make_user("staff", username="clerk")
    # Given five wrong passwords (in any letter case: one account)...
    statuses = [_sign_in(client, name, "guess-1").status_code for name in ["clerk", "CLERK"] * 2]
    statuses.append(_sign_in(client, " Clerk", "guess-2").status_code)
    assert statuses == [200] * 5
    failed_before = _count("accounts.login_failed")

    # ...then the right one is refused while the lock runs, without a password check.
    refused = _sign_in(client, "clerk", PASSWORD)
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert "Too many failed sign-in attempts" in refused.content.decode()
    assert SESSION_KEY not in client.session
    assert _count("accounts.login_failed") == failed_before  # authenticate() was never called
    assert _count("accounts.login") == 0


def test_throttled_attempts_are_audited_without_the_username(client, make_user, throttle):
    user = make_user("staff", username="clerk")
    for _ in range(5):
        _sign_in(client, "clerk", "guess", REMOTE_ADDR="203.0.113.9")
    _sign_in(client, "clerk", PASSWORD, REMOTE_ADDR="203.0.113.9")
    event = AuditEvent.objects.filter(action="accounts.login_throttled").latest("seq")
    assert (event.outcome, event.actor_id, event.actor_role) == ("denied", None, "citizen")
    assert (event.object_type, event.object_id) == ("user", str(user.pk))
    assert event.client == keyed_hash("client", "203.0.113.9")
    assert event.detail["username_hash"] == username_fingerprint("clerk")
    assert event.detail["known_account"] is True and event.detail["scope"] == "account"
    assert 1 <= event.detail["retry_after_s"] <= 60

    # A name that is no account: only its keyed hash is kept, as for a failed sign-in.
    for _ in range(6):
        _sign_in(client, "13812345678", "guess")
    unknown = AuditEvent.objects.filter(action="accounts.login_throttled").latest("seq")
    assert unknown.object_id == "" and unknown.detail["known_account"] is False
    text = trail_text()
    assert "13812345678" not in text and "203.0.113.9" not in text and PASSWORD not in text


def test_an_address_is_throttled_across_accounts(client, make_user, throttle):
    throttle.LOGIN_THROTTLE_FAILURES = 10
    throttle.LOGIN_THROTTLE_ADDRESS_FAILURES = 3
    make_user("staff", username="clerk")
    guesser = {"REMOTE_ADDR": "203.0.113.7"}
    for name in ("alice", "bob", "carol"):  # one failure each: no account is near its limit
        assert _sign_in(client, name, "guess", **guesser).status_code == 200
    # Then even the right password for a fourth account is refused from that address...
    refused = _sign_in(client, "clerk", PASSWORD, **guesser)
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
    event = AuditEvent.objects.filter(action="accounts.login_throttled").latest("seq")
    assert event.detail["scope"] == "address"
    # ...but not from another one.
    assert _sign_in(client, "clerk", PASSWORD, REMOTE_ADDR="198.51.100.1").status_code == 302


def test_a_success_resets_the_accounts_count(client, make_user, throttle):
    make_user("staff", username="clerk")
    for _ in range(4):
        assert _sign_in(client, "clerk", "guess").status_code == 200
    assert _sign_in(client, "clerk", PASSWORD).status_code == 302
    client.post("/accounts/logout/")
    # Four more failures would make eight, past the threshold, had the success not reset it.
    for _ in range(4):
        assert _sign_in(client, "clerk", "guess").status_code == 200
    assert _sign_in(client, "clerk", PASSWORD).status_code == 302
    client.post("/accounts/logout/")
    # And the count still works after the reset: five failures lock again.
    for _ in range(5):
        _sign_in(client, "clerk", "guess")
    assert _sign_in(client, "clerk", PASSWORD).status_code == 429


def test_back_off_doubles_per_failure_and_is_capped(db, throttle):
    throttle.LOGIN_THROTTLE_BASE_SECONDS = 1
    request = RequestFactory().post(LOGIN, REMOTE_ADDR="10.0.0.5")
    now = 1_000_000.0
    tries, locks = 0, []
    while len(locks) < 12:
        decision = login_attempt_begin(request=request, username="admin", now=now)
        if decision.allowed:
            tries += 1  # one more wrong password (no success is recorded)
            continue
        locks.append(decision.retry_after_s)
        now += decision.retry_after_s  # a patient guesser waits each lock out
    assert locks == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]  # capped at five minutes
    assert tries == 5 + 11  # the threshold, then one try per lock
    assert lock_seconds(failures=10_000, threshold=5) == 300.0

    # Once the lock has run out the real user gets in, and that clears the account's count:
    assert login_attempt_begin(request=request, username="admin", now=now).allowed
    login_success_record(request=request, username="ADMIN")
    # the next wrong passwords start again from zero instead of a five-minute lock.
    for _ in range(2):
        assert login_attempt_begin(request=request, username="admin", now=now).allowed


def test_a_burst_of_parallel_attempts_gets_no_more_tries_than_a_sequence(db, throttle):
    # Attempts in flight at once have all begun before any password was checked: counting only
    # outcomes would let all thirty through.
    request = RequestFactory().post(LOGIN, REMOTE_ADDR="10.0.0.6")
    burst = [login_attempt_begin(request=request, username="admin").allowed for _ in range(30)]
    assert burst == [True] * 5 + [False] * 25
    # And per address too: new names from the same address stop at its threshold.
    throttle.LOGIN_THROTTLE_ADDRESS_FAILURES = 8
    other = RequestFactory().post(LOGIN, REMOTE_ADDR="10.0.0.7")
    names = [login_attempt_begin(request=other, username=f"u{i}").allowed for i in range(12)]
    assert names == [True] * 8 + [False] * 4


def test_the_admin_sign_in_form_is_throttled_with_the_same_counts(
    client, django_user_model, throttle
):
    django_user_model.objects.create_superuser("root", "root@example.org", PASSWORD)
    assert client.get("/admin/login/").status_code == 200
    # Three failures on the portal's form and two on the admin's count against one account.
    for path in (LOGIN, LOGIN, LOGIN, "/admin/login/", "/admin/login/"):
        assert _sign_in(client, "root", "guess", path).status_code == 200
    refused = _sign_in(client, "root", PASSWORD, "/admin/login/")
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
    assert SESSION_KEY not in client.session
    assert _sign_in(client, "root", PASSWORD, LOGIN).status_code == 429


def test_admin_sign_in_failures_alone_lock_the_account(client, django_user_model, throttle):
    django_user_model.objects.create_superuser("root", "root@example.org", PASSWORD)
    for _ in range(5):
        assert _sign_in(client, "root", "guess", "/admin/login/").status_code == 200
    assert _sign_in(client, "root", PASSWORD, "/admin/login/").status_code == 429


def test_sign_in_fails_open_when_the_cache_is_down(client, make_user, settings):
    make_user("staff", username="clerk")
    settings.LOGIN_THROTTLE_FAILURES = 5
    settings.LOGIN_THROTTLE_ADDRESS_FAILURES = 20
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        }
    }
    statuses = [_sign_in(client, "clerk", "guess").status_code for _ in range(8)]
    assert statuses == [200] * 8
    assert _sign_in(client, "clerk", PASSWORD).status_code == 302
