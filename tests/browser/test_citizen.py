"""A citizen asks in English and in Chinese, reads the streamed answer, opens a citation and
sends feedback; the page works on a phone-sized screen."""

from __future__ import annotations

import re
import time

import pytest

from portal.feedback.models import Feedback
from tests.portal.factories import PASSPORT_MD, ZH_MD, collection, ingest

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

QUESTION_EN = "How long does passport renewal by mail take?"
QUESTION_ZH = "城乡居民医疗保险什么时候缴费？"


@pytest.fixture
def knowledge(transactional_db):
    ingest(PASSPORT_MD, filename="passport.md", title="Passport renewal")
    ingest(ZH_MD, filename="yibao.md", coll=collection("zh-policy"), title="城乡居民医疗保险")


def _ask(page, question: str) -> float:
    """Submit a question; return seconds until the first verified sentence is on screen."""
    page.fill("#q", question)
    started = time.monotonic()
    page.click("#ask-form button[type=submit]")
    page.locator("#live .sentence").first.wait_for(state="visible")
    return time.monotonic() - started


def test_citizen_asks_in_english_and_chinese_and_opens_a_citation(knowledge, new_page, screenshot):
    page = new_page()
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    first_sentence_s = _ask(page, QUESTION_EN)
    live = page.locator("#live")
    expect(live).to_have_attribute("aria-live", "polite")
    expect(live.locator(".permalink")).to_be_visible(timeout=30_000)  # the stream finished
    expect(live).to_have_attribute("aria-busy", "false")
    assert re.search(r"/a/[0-9a-f-]{36}/$", page.url)  # the come-back link replaced the URL

    # A citation marker opens the passage with its document, version and effective date.
    marker = live.locator("button.cite").first
    marker.click()
    dialog = page.locator("dialog#citation")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#citation-title")).to_contain_text("Passport renewal")
    expect(dialog.locator("#citation-meta")).to_contain_text("version 1")
    expect(dialog.locator("#citation-quote")).not_to_be_empty()
    screenshot(page, "en-citation")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(marker).to_be_focused()  # keyboard users keep their place

    # Feedback after the streamed answer: "not helpful" with a reason, announced on the page.
    feedback = page.locator("#feedback-form")
    expect(feedback).to_be_visible()
    feedback.get_by_role("radio", name="No").check()
    feedback.locator("#feedback-reason").select_option("unclear")
    feedback.get_by_role("button", name="Send feedback").click()
    expect(feedback.locator(".feedback-status")).to_contain_text("Thank you")
    row = Feedback.objects.get()
    assert row.helpful is False and row.reason == "unclear"

    # The marker's link leads to the source document page.
    marker.click()
    page.click("#citation-link")
    expect(page.locator("h1")).to_have_text("Passport renewal")

    # Switch the portal to Chinese; the page and the answer are in Chinese.
    page.goto("/")
    page.select_option("#lang", "zh-hans")
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    expect(page.locator("h1")).to_have_text("咨询福利待遇、公共服务和健康指南")
    zh_first_sentence_s = _ask(page, QUESTION_ZH)
    expect(live.locator(".permalink")).to_be_visible(timeout=30_000)
    expect(live).to_have_attribute("lang", "zh-Hans")
    assert re.search(r"[\u4e00-\u9fff]", live.locator(".sentence").first.inner_text())
    live.locator("button.cite").first.click()
    expect(dialog.locator("#citation-title")).to_contain_text("城乡居民医疗保险")
    expect(dialog.locator("#citation-meta")).to_contain_text("版本")
    screenshot(page, "zh-citation")
    print(f"first sentence on screen: en {first_sentence_s:.2f}s, zh {zh_first_sentence_s:.2f}s")


def test_the_answer_page_works_on_a_phone(knowledge, new_page, screenshot):
    # A Chinese phone browser: Accept-Language picks the language, no switch needed.
    page = new_page(locale="zh-CN", viewport={"width": 375, "height": 740})
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    _ask(page, QUESTION_ZH)
    expect(page.locator("#live .permalink")).to_be_visible(timeout=30_000)
    page.goto(page.url)  # the come-back link, rendered by the server
    expect(page.locator("#answer .sentence").first).to_be_visible()
    # Nothing is wider than the screen, and controls are big enough to tap.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    box = page.locator("#ask-form button[type=submit]").bounding_box()
    assert box["height"] >= 44
    # Keyboard: the first Tab reaches the skip link, which moves focus to the main content.
    page.keyboard.press("Tab")
    expect(page.locator(".skip-link")).to_be_focused()
    screenshot(page, "phone-zh")
