"""System checks for security settings that an environment can switch off (``manage.py check
--deploy``): the browser's script policy, and the limits on guessing passwords and spending the
answer engine.

SECURITY_CSP is an environment setting whose empty value turns the Content-Security-Policy
header off (portal/core/security.py), so a typo in a deployment's environment would quietly
remove the portal's defence against injected scripts: uploaded documents are quoted on its
pages. These checks make that a deploy-time error instead.
"""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

# Script sources that let a page run script it did not ship itself: inline code, eval, any
# host, or URLs that carry their own content.
_UNSAFE_SCRIPT_SOURCES = frozenset({
    "'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", "'wasm-unsafe-eval'", "*",
    "data:", "blob:", "http:", "https:", "filesystem:",
})  # fmt: skip


def csp_directives(policy: str) -> dict[str, list[str]]:
    """Directive name (lower case) -> its sources; the first of a repeated name wins, as in
    browsers."""
    directives: dict[str, list[str]] = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            directives.setdefault(words[0].lower(), [w.lower() for w in words[1:]])
    return directives


@register(Tags.security, deploy=True)
def csp_check(app_configs, **kwargs) -> list[Error]:
    policy = settings.SECURITY_CSP.strip()
    if not policy:
        return [
            Error(
                "SECURITY_CSP is empty, so no Content-Security-Policy header is sent and a "
                "script injected into a page would run.",
                hint="Unset SECURITY_CSP to use the default policy (docs/configuration.md).",
                id="core.E001",
            )
        ]
    directives = csp_directives(policy)
    errors = []
    if "default-src" not in directives:
        errors.append(
            Error(
                "SECURITY_CSP has no default-src directive, so every kind of resource it does "
                "not name may load from anywhere.",
                hint="Start the policy with \"default-src 'self'\".",
                id="core.E002",
            )
        )
    # Browsers fall back to default-src for scripts when script-src is absent.
    script_sources = directives.get("script-src", directives.get("default-src"))
    unsafe = sorted(_UNSAFE_SCRIPT_SOURCES.intersection(script_sources or ()))
    if script_sources is None or unsafe:
        errors.append(
            Error(
                "SECURITY_CSP does not restrict scripts"
                + (f" (it allows {', '.join(unsafe)})" if unsafe else "")
                + ": an injected script would run.",
                hint="Use \"script-src 'self'\"; the portal needs no inline scripts.",
                id="core.E003",
            )
        )
    return errors


# Each is 0 to switch it off (the test suite does); a deployment must keep them on: without the
# sign-in throttle passwords can be guessed at full speed, and without the ask limits one client
# can spend every generation slot (issue 22).
_ABUSE_LIMITS = {
    "LOGIN_THROTTLE_FAILURES": "passwords can be guessed at full speed",
    "LOGIN_THROTTLE_ADDRESS_FAILURES": "one address can guess at every account",
    "RATE_LIMIT_ASK_PER_MINUTE": "one caller can spend every answer slot",
    "RATE_LIMIT_ASK_PER_MINUTE_ADDRESS": "one address can spend every answer slot",
}


@register(Tags.security, deploy=True)
def abuse_limits_check(app_configs, **kwargs) -> list[Error]:
    errors: list[Error] = [
        Error(
            f"{name} is 0, so its limit is off: {harm}.",
            hint=f"Unset {name} to use the production default (docs/configuration.md).",
            id=f"core.E{index:03d}",
        )
        for index, (name, harm) in enumerate(_ABUSE_LIMITS.items(), start=10)
        if getattr(settings, name) == 0
    ]
    if settings.LOGIN_THROTTLE_MAX_SECONDS > 3600:
        errors.append(
            Warning(
                "LOGIN_THROTTLE_MAX_SECONDS is over an hour: someone guessing at an account can "
                "lock its real user out that long.",
                id="core.W010",
            )
        )
    return errors
