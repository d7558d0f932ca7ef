"""Settings come from the environment, fail clearly on bad values, and pass check --deploy."""

import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from portal import env
from tests.conftest import ROOT


def test_env_bool_reads_common_spellings(monkeypatch):
    monkeypatch.setenv("X_FLAG", "yes")
    assert env.env_bool("X_FLAG", False) is True
    monkeypatch.setenv("X_FLAG", "0")
    assert env.env_bool("X_FLAG", True) is False


def test_bad_values_name_the_variable(monkeypatch):
    monkeypatch.setenv("X_NUM", "twelve")
    with pytest.raises(ImproperlyConfigured, match="X_NUM must be an integer"):
        env.env_int("X_NUM", 1)
    monkeypatch.setenv("X_FLAG", "perhaps")
    with pytest.raises(ImproperlyConfigured, match="X_FLAG must be a boolean"):
        env.env_bool("X_FLAG", False)
    monkeypatch.setenv("X_NUM", "3")
    with pytest.raises(ImproperlyConfigured, match=">= 10"):
        env.env_int("X_NUM", 20, minimum=10)


def test_secret_from_file_wins_over_plain_variable(monkeypatch, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("from-file\n")
    monkeypatch.setenv("X_SECRET", "plain")
    monkeypatch.setenv("X_SECRET_FILE", str(secret))
    assert env.env_str("X_SECRET") == "from-file"
    monkeypatch.setenv("X_SECRET_FILE", str(tmp_path / "missing"))
    with pytest.raises(ImproperlyConfigured, match="cannot be read"):
        env.env_str("X_SECRET")


def _manage(*args: str, extra_env: dict[str, str]) -> subprocess.CompletedProcess:
    # The test process's own switches (database, Redis, the browser tests' async-safety opt-out)
    # must not leak into the production-settings check.
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_", "REDIS_")) and k != "DJANGO_ALLOW_ASYNC_UNSAFE"
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **extra_env},
        capture_output=True,
        text=True,
        timeout=120,
    )


PRODUCTION = {
    "PORTAL_ENV": "production",
    "DATABASE_URL": "postgres://app@db.internal:5432/portal",
    "REDIS_URL": "redis://cache.internal:6379/0",
    "SECRET_KEY": "k" * 20 + "-production-secret-with-enough-entropy-9f8e7d6c5b4a",
    "ALLOWED_HOSTS": "answers.example.gov",
    "AUDIT_HMAC_KEY": "a" * 16 + "-audit-checkpoint-signing-key-0c1d2e3f4a5b",
}


def test_production_settings_pass_check_deploy():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", extra_env=PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_its_secrets():
    partial = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}
    result = _manage("check", extra_env=partial)
    assert result.returncode != 0
    assert "SECRET_KEY is required" in result.stderr


def test_check_deploy_fails_when_an_abuse_limit_is_switched_off():
    off = {**PRODUCTION, "LOGIN_THROTTLE_FAILURES": "0", "RATE_LIMIT_ASK_PER_MINUTE_ADDRESS": "0"}
    result = _manage("check", "--deploy", extra_env=off)
    assert result.returncode != 0
    assert "core.E010" in result.stderr and "core.E013" in result.stderr
    assert "core.E011" not in result.stderr  # the address throttle is still on
