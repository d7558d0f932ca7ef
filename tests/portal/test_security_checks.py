"""`manage.py check --deploy` refuses a Content-Security-Policy that would not stop injected
scripts (portal/core/checks.py)."""

from __future__ import annotations

import pytest
from django.core.checks import Error, run_checks

DEFAULT = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; frame-ancestors 'none'"
)


def _csp_errors(settings, policy: str) -> list[Error]:
    settings.SECURITY_CSP = policy
    messages = run_checks(include_deployment_checks=True)
    return [m for m in messages if m.id.startswith("core.E00") and isinstance(m, Error)]


def test_the_default_policy_passes(settings):
    assert _csp_errors(settings, DEFAULT) == []


@pytest.mark.parametrize("policy", ["", "   "])
def test_an_empty_policy_is_an_error(settings, policy):
    assert [e.id for e in _csp_errors(settings, policy)] == ["core.E001"]


def test_a_policy_without_default_src_is_an_error(settings):
    errors = _csp_errors(settings, "script-src 'self'; img-src 'self'")
    assert [e.id for e in errors] == ["core.E002"]


def test_a_policy_that_restricts_nothing_about_scripts_is_an_error(settings):
    errors = _csp_errors(settings, "img-src 'self'; frame-ancestors 'none'")
    assert [e.id for e in errors] == ["core.E002", "core.E003"]


@pytest.mark.parametrize(
    "policy",
    [
        "default-src 'self'; script-src 'self' 'unsafe-inline'",
        "default-src 'self'; script-src *",
        "default-src 'self' 'unsafe-eval'",  # no script-src: scripts fall back to default-src
        "default-src 'self'; SCRIPT-SRC 'self' https:",
    ],
)
def test_a_policy_that_lets_injected_scripts_run_is_an_error(settings, policy):
    errors = _csp_errors(settings, policy)
    assert [e.id for e in errors] == ["core.E003"]


def test_the_check_runs_only_for_deployment(settings):
    settings.SECURITY_CSP = ""
    assert not [m for m in run_checks() if m.id == "core.E001"]


def test_abuse_limits_switched_off_are_errors_and_a_long_lockout_a_warning(settings):
    settings.SECURITY_CSP = DEFAULT
    settings.LOGIN_THROTTLE_FAILURES = 5
    settings.LOGIN_THROTTLE_ADDRESS_FAILURES = 20
    settings.RATE_LIMIT_ASK_PER_MINUTE = 20
    settings.RATE_LIMIT_ASK_PER_MINUTE_ADDRESS = 120
    settings.LOGIN_THROTTLE_MAX_SECONDS = 300
    ours = [m.id for m in run_checks(include_deployment_checks=True) if m.id.startswith("core.")]
    assert ours == []
    settings.RATE_LIMIT_ASK_PER_MINUTE = 0
    settings.LOGIN_THROTTLE_MAX_SECONDS = 86400
    ours = [m.id for m in run_checks(include_deployment_checks=True) if m.id.startswith("core.")]
    assert ours == ["core.E012", "core.W010"]
