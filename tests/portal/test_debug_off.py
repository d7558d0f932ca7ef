"""`make run` serves with DEBUG off, so a 404 is the portal's own page and lists no URL patterns;
DEBUG stays available to developers who set it (issue 23)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import ROOT

# Settings as `make run` gives them to the web server (portal/core/launch.py): no PORTAL_ENV,
# so development, and no DEBUG; then one request for a page that does not exist.
PROBE = """
import json, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
import django
django.setup()
from django.conf import settings
from django.test import Client
response = Client().get("/no-such-page/")
print(json.dumps({
    "env": settings.PORTAL_ENV, "debug": settings.DEBUG, "status": response.status_code,
    "type": response["Content-Type"], "body": response.content.decode(),
}))
"""


def _probe(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PORTAL_ENV", "DEBUG")}
    env.update(extra)
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=120, check=True,
    )  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_make_run_settings_answer_a_404_without_the_url_patterns():
    seen = _probe()
    assert seen["env"] == "development" and seen["debug"] is False
    assert seen["status"] == 404 and seen["type"].startswith("text/html")
    body = seen["body"]
    assert "URLconf" not in body and "knowledge/" not in body and "api/v1/" not in body
    assert "Page not found" in body and 'href="/"' in body  # the portal's page, with a way back


def test_developers_can_still_turn_debug_on():
    seen = _probe(DEBUG="1")
    assert seen["debug"] is True
    assert "URLconf" in seen["body"]


def test_the_404_page_uses_the_portal_layout(client, db, settings):
    settings.DEBUG = False
    missing = client.get("/no-such-page/")
    assert missing.status_code == 404
    body = missing.content.decode()
    assert "Page not found" in body and "Cited Answers" in body and "Staff sign in" in body
