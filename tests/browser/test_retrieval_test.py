"""An admin tests what retrieval returns for a question asked as a citizen and as a staff member:
the ranked passages with each retriever's score, and why the relevance check passed. The new
admin pages pass the portal's accessibility audit."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from portal.knowledge.models import Audience, Chunk
from portal.qa.models import Answer
from tests.browser.conftest import sign_in
from tests.browser.test_accessibility import _audit
from tests.portal.factories import PASSPORT_MD, STAFF_MD, collection, ingest

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect


def test_admin_tests_retrieval_as_two_roles(
    transactional_db, make_user, new_page, screenshot, settings
):
    settings.RATE_LIMIT_ASK_PER_MINUTE = 30
    cache.clear()
    ingest(PASSPORT_MD, filename="passport.md", title="Passport renewal")
    staff_only = collection("internal", Audience.STAFF)
    ingest(STAFF_MD, filename="triage.md", coll=staff_only, title="Internal triage protocol")
    make_user("admin", username="admin-ui")
    page = new_page()
    sign_in(page, "admin-ui")
    page.goto("/")
    page.get_by_role("link", name="Retrieval test").click()
    expect(page.get_by_role("heading", name="Retrieval test", exact=True)).to_be_visible()

    page.get_by_label("Question").fill("When do caseworkers escalate an appeal?")
    page.get_by_label("Ask as").select_option("citizen")
    page.get_by_role("button", name="Test retrieval").click()
    result = page.locator("#retrieval-result")
    expect(result).to_be_visible()
    expect(page.locator("#hits")).not_to_contain_text("Internal triage protocol")

    page.get_by_label("Ask as").select_option("staff")
    page.get_by_role("button", name="Test retrieval").click()
    expect(result).to_have_attribute("data-outcome", "passed")
    first = page.locator("#hits tbody tr").first
    expect(first).to_contain_text("Internal triage protocol")
    expect(first).to_contain_text("goes to the prompt")
    expect(page.locator("#outcome")).to_contain_text("Passed")
    page.get_by_text("How the relevance check decides").click()
    expect(page.get_by_text("A document passes when")).to_be_visible()
    screenshot(page, "staff")
    assert Answer.objects.count() == 0
    # This page and the other new pages pass the same audit as the rest of the portal.
    assert _audit(page) == []
    version = Chunk.objects.first().version_id
    for path in ("/feedback/", f"/knowledge/versions/{version}/chunks/", "/"):
        page.goto(path)
        assert _audit(page) == [], path
    cache.clear()
