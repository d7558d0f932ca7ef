"""A citizen's dose answer is held for review; a reviewer approves it in the queue, and the
citizen's come-back link then shows the published answer."""

from __future__ import annotations

import pytest

from portal.qa.models import Answer
from portal.review.models import ReviewDecision
from tests.browser.conftest import sign_in
from tests.portal.factories import collection, ingest

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

PARACETAMOL_MD = """# Paracetamol for adults

## Dose

Adults can take 500 mg to 1 g of paracetamol every 4 to 6 hours, up to a maximum of 4 g in
24 hours.
"""
QUESTION = "How much paracetamol can adults take?"


@pytest.fixture
def dose_answers_are_held(settings):
    # The deployment switch that sends every answer stating a dose to a person first.
    settings.SAFETY_HOLD_DOSE_ANSWERS = True


def test_reviewer_approves_a_held_answer_and_the_citizen_link_shows_it(
    transactional_db, dose_answers_are_held, make_user, new_page, screenshot
):
    ingest(PARACETAMOL_MD, filename="paracetamol.md", coll=collection("medicines"))
    make_user("reviewer", username="reviewer-ui")

    citizen = new_page()
    citizen.goto("/")
    citizen.fill("#q", QUESTION)
    citizen.click("#ask-form button[type=submit]")
    held = citizen.locator("#live .held")
    expect(held).to_contain_text("being checked by a person")
    link = held.locator("a.permalink").get_attribute("href")
    assert link.startswith("/a/")
    expect(citizen.locator("#live .sentence")).to_have_count(0)  # nothing shown before review
    answer = Answer.objects.get()
    assert answer.status == "held"
    citizen.goto(link)
    expect(citizen.locator("#answer")).to_have_attribute("data-status", "held")
    screenshot(citizen, "citizen-held")

    reviewer = new_page()
    sign_in(reviewer, "reviewer-ui")
    reviewer.get_by_role("link", name="Review queue").click()
    reviewer.get_by_role("link", name=QUESTION).click()
    expect(reviewer.locator("h1")).to_have_text("Review a held answer")
    expect(reviewer.locator("ol.verification li").first).to_be_visible()
    screenshot(reviewer, "review-item")
    reviewer.get_by_role("button", name="Approve and publish").click()
    expect(reviewer.locator(".messages")).to_contain_text("Approved and published.")
    assert ReviewDecision.objects.get(answer=answer).decision == "approve"

    # The citizen's come-back link now shows the answer with its citations.
    citizen.goto(link)
    expect(citizen.locator("#answer")).to_have_attribute("data-status", "answered")
    expect(citizen.locator("#answer .sentence").first).to_contain_text("paracetamol")
    citizen.locator("#answer button.cite").first.click()
    expect(citizen.locator("dialog#citation")).to_contain_text("Paracetamol for adults")
    screenshot(citizen, "citizen-approved")
