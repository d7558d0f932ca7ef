"""Sessions expire when idle and absolutely; every response carries the security headers; every
form carries a CSRF token and no template runs inline script (the CSP forbids it)."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from pathlib import Path

from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from portal.audit.models import AuditEvent
from portal.core.security import LOGIN_TIME_KEY

PORTAL = Path(__file__).resolve().parents[2] / "portal"
PASSWORD = "a-long-test-password-1"


def _sign_in(client: Client, user) -> None:
    response = client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302


def test_sign_in_stamps_the_session_and_idle_expiry_slides(client, make_user, settings):
    assert settings.SESSION_SAVE_EVERY_REQUEST
    assert settings.SESSION_COOKIE_AGE == settings.SESSION_IDLE_SECONDS
    _sign_in(client, make_user("staff"))
    assert abs(client.session[LOGIN_TIME_KEY] - time.time()) < 5

    key = client.session.session_key
    Session.objects.filter(pk=key).update(expire_date=timezone.now() + timedelta(seconds=30))
    assert client.get("/drafts/").status_code == 200
    expiry = Session.objects.get(pk=key).expire_date
    # The request moved the server-side expiry a whole idle period forward.
    assert expiry > timezone.now() + timedelta(seconds=settings.SESSION_IDLE_SECONDS - 10)


def test_an_idle_session_is_signed_out(client, make_user):
    _sign_in(client, make_user("staff"))
    key = client.session.session_key
    Session.objects.filter(pk=key).update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get("/drafts/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_an_old_session_is_signed_out_however_active(client, make_user, settings):
    user = make_user("staff")
    _sign_in(client, user)
    session = client.session
    session[LOGIN_TIME_KEY] = int(time.time()) - settings.SESSION_ABSOLUTE_SECONDS - 1
    session.save()

    response = client.get("/drafts/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert client.get("/drafts/").status_code == 302  # the session is gone, not just refused
    event = AuditEvent.objects.filter(action="auth.session_expired").get()
    assert event.object_id == str(user.pk)


def test_an_old_session_gets_401_from_the_api(client, make_user, settings):
    _sign_in(client, make_user("admin"))
    session = client.session
    session[LOGIN_TIME_KEY] = int(time.time()) - settings.SESSION_ABSOLUTE_SECONDS - 1
    session.save()
    response = client.get("/api/v1/documents")
    assert response.status_code == 401


def test_a_young_session_is_kept(client, make_user, settings):
    _sign_in(client, make_user("staff"))
    session = client.session
    session[LOGIN_TIME_KEY] = int(time.time()) - settings.SESSION_ABSOLUTE_SECONDS + 60
    session.save()
    assert client.get("/drafts/").status_code == 200


def test_token_calls_create_no_session(client, make_user):
    from portal.api.services import api_token_create

    secret = api_token_create(owner=make_user("admin"), name="svc").secret
    count = Session.objects.count()
    response = client.get("/api/v1/documents", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 200
    assert Session.objects.count() == count and "sessionid" not in response.cookies


def test_security_headers_on_pages_and_api(client, db):
    for path in ("/", "/api/v1/collections", "/accounts/login/"):
        response = client.get(path)
        csp = response["Content-Security-Policy"]
        directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
        assert directives["script-src"] == "'self'", path
        assert "unsafe-inline" not in directives["style-src"]
        assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
        assert "camera=()" in response["Permissions-Policy"]
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Referrer-Policy"] == "same-origin"
        assert response["X-Frame-Options"] == "DENY"


def test_the_django_admin_alone_may_use_inline_styles(client, make_user):
    client.force_login(make_user("admin"))
    csp = client.get("/admin/")["Content-Security-Policy"]
    assert "style-src 'self' 'unsafe-inline'" in csp and "script-src 'self';" in csp


def _templates() -> list[Path]:
    return [p for p in PORTAL.rglob("templates/**/*.html") if "/admin/" not in str(p)]


def test_every_post_form_carries_a_csrf_token():
    missing = []
    for path in _templates():
        text = path.read_text()
        for form in re.finditer(r"<form\b[^>]*>(.*?)</form>", text, re.S | re.I):
            if re.search(r'method=["\']?post', form.group(0)[:200], re.I) and (
                "{% csrf_token %}" not in form.group(1)
            ):
                missing.append(
                    f"{path.relative_to(PORTAL)}:{text[: form.start()].count(chr(10)) + 1}"
                )
    assert missing == [], f"POST forms without {{% csrf_token %}}: {missing}"


def test_no_template_has_inline_script_or_event_handlers():
    """The CSP allows scripts from our own static files only; inline code would be blocked."""
    found = []
    for path in _templates():
        text = path.read_text()
        for match in re.finditer(r"<script\b([^>]*)>", text, re.I):
            attrs = match.group(1)
            if "src=" not in attrs and "application/json" not in attrs:
                found.append(f"{path.relative_to(PORTAL)}: inline <script>")
        if re.search(r"\son[a-z]+\s*=", text, re.I):
            found.append(f"{path.relative_to(PORTAL)}: on* event handler attribute")
        if re.search(r"<style\b|\sstyle\s*=", text, re.I):
            found.append(f"{path.relative_to(PORTAL)}: inline style")
    assert found == []
