"""Browser tests: Debian's chromium driven headless by Playwright against pytest-django's live
server (a real HTTP server in a thread, on the test database, serving static files).

Chromium comes from the system package (`apt-get install chromium`, done by `make test` and
.ci/run when it is missing); Playwright's own browser download is never used, so the tests run
offline. Each test saves screenshots under $BROWSER_ARTIFACTS (default var/test-artifacts/).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "a-long-test-password-1"  # what tests/conftest.py's make_user sets

# Playwright's sync API keeps an event loop running in this thread; Django refuses ORM calls from
# a thread with a running loop unless told it is safe. It is: the ORM calls here are the test's
# own set-up and checks, never concurrent with the loop's work.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# Assertions wait as long as actions: the first answer in a fresh server process loads the
# embedder and the personal-data recognizer, which takes seconds on a busy 2-core machine.
expect.set_options(timeout=30_000)


def artifacts_dir() -> Path:
    path = Path(os.environ.get("BROWSER_ARTIFACTS", ROOT / "var" / "test-artifacts"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def browser():
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium (make test does it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser, live_server):
    """Open a page in a fresh browser context (own cookies); closes them all after the test."""
    contexts = []
    problems: list[str] = []

    def watch(page) -> None:
        # The portal runs under a strict Content-Security-Policy (no inline script or style):
        # anything it blocks, and any uncaught script error, fails the test that caused it.
        page.on(
            "console",
            lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None,
        )
        page.on("pageerror", lambda error: problems.append(f"script error: {error}"))

    def open_page(*, locale: str = "en-US", viewport: dict | None = None):
        context = browser.new_context(
            base_url=live_server.url,
            locale=locale,
            viewport=viewport or {"width": 1280, "height": 900},
            accept_downloads=True,
        )
        context.set_default_timeout(30_000)
        contexts.append(context)
        page = context.new_page()
        watch(page)
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert problems == [], f"blocked by the CSP or failed in the browser: {problems}"


@pytest.fixture
def screenshot(request):
    """screenshot(page, "step") saves <test name>-<step>.png and returns its path."""

    def save(page, step: str) -> Path:
        path = artifacts_dir() / f"{request.node.name}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save


def sign_in(page, username: str, password: str = PASSWORD) -> None:
    page.goto("/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("main button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
