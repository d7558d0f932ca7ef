"""A citizen asks in English and in Chinese, reads the answer streamed from POST
/api/v1/ask/stream, opens a citation and sends feedback; the page tells a waiting or refused
reader what is happening; the page works on a phone-sized screen."""

from __future__ import annotations

import json
import re
import time
from urllib.parse import urlsplit

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
    sent = []
    page.on("request", lambda r: sent.append((r.method, r.url, r.post_data)))
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    first_sentence_s = _ask(page, QUESTION_EN)
    live = page.locator("#live")
    expect(live).to_have_attribute("aria-live", "polite")
    expect(live.locator(".permalink")).to_be_visible(timeout=30_000)  # the stream finished
    expect(live).to_have_attribute("aria-busy", "false")
    assert re.search(r"/a/[0-9a-f-]{36}/$", page.url)  # the come-back link replaced the URL
    # The answer came from the API's stream, asked in the request body: never in a URL.
    streams = [(m, body) for m, url, body in sent if urlsplit(url).path == "/api/v1/ask/stream"]
    assert [m for m, _ in streams] == ["POST"]
    assert json.loads(streams[0][1]) == {"question": QUESTION_EN, "collections": []}
    assert not any("passport" in url.lower() for _, url, _ in sent)

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


# The page's fetch of the stream, held open by the test: each event arrives when the test pushes
# it, so every state in between can be looked at (a fulfilled route delivers all at once).
HELD_STREAM = """(() => {
  const realFetch = window.fetch;
  let stream = null;
  window.pushEvent = (text) => stream.enqueue(new TextEncoder().encode(text));
  window.fetch = (url, options) => {
    if (!String(url).endsWith("/api/v1/ask/stream")) return realFetch(url, options);
    const body = new ReadableStream({ start(controller) { stream = controller; } });
    const headers = { "Content-Type": "text/event-stream" };
    return Promise.resolve(new Response(body, { status: 200, headers: headers }));
  };
})();"""
ANSWER_ID = "5f0c1c1e-0000-4000-8000-000000000001"


def _sse(event: dict) -> str:
    return f"event: {event['event']}\ndata: {json.dumps(event)}\n\n"


def test_a_waiting_reader_sees_their_place_then_the_answer(transactional_db, new_page):
    page = new_page()
    page.add_init_script(HELD_STREAM)
    page.goto("/")
    page.fill("#q", QUESTION_EN)
    page.click("#ask-form button[type=submit]")
    status = page.locator("#live .status")

    def push(text: str) -> None:
        page.evaluate("text => window.pushEvent(text)", text)

    push(_sse({"event": "start", "answer_id": ANSWER_ID, "language": "en"}))
    push(_sse({"event": "queued", "position": 2}))
    expect(status).to_have_text("Waiting for a free slot, position 2…")
    queued = _sse({"event": "queued", "position": 1})
    push(queued[:20])  # an event split across reads is put back together
    push(queued[20:])
    expect(status).to_have_text("Waiting for a free slot, position 1…")
    # A slot is free and generation starts: the normal progress replaces the place in line.
    push(_sse({"event": "progress", "stage": "retrieving", "verified": 0}))
    expect(status).to_have_text("Checking official sources…")
    sentence = {"event": "sentence", "index": 0, "text": "It takes 6 to 8 weeks.", "citations": []}
    push(_sse(sentence))
    done = {"event": "done", "answer_id": ANSWER_ID, "status": "answered", "citations": {}}
    push(_sse({**done, "guidance": ""}))
    expect(page.locator("#live .sentence")).to_have_text("It takes 6 to 8 weeks.")
    expect(page.locator("#live .permalink")).to_be_visible()
    expect(status).to_have_count(0)


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (503, "The service is busy right now. Please try again in 7 seconds."),
        (429, "Too many questions in a short time. Please try again in 7 seconds."),
        (400, "The question could not be asked: no such collection"),
    ],
)
def test_a_refused_question_says_why_and_when_to_try_again(
    transactional_db, new_page, status, message
):
    page = new_page(locale="en-US")
    body = (
        {"detail": "no such collection"}
        if status == 400
        else {"detail": "busy", "retry_after_s": 7}
    )
    page.route(
        "**/api/v1/ask/stream",
        lambda route: route.fulfill(
            status=status,
            content_type="application/json",
            headers={"Retry-After": "7"},
            body=json.dumps(body),
        ),
    )
    page.goto("/")
    page.fill("#q", QUESTION_EN)
    page.click("#ask-form button[type=submit]")
    alert = page.locator("#live [role=alert]")
    expect(alert).to_have_text(message)
    expect(page.locator("#live")).to_have_attribute("aria-busy", "false")
    expect(page.locator("#live .ai-label")).to_have_count(0)  # nothing was answered


def test_the_real_rate_limit_reaches_the_reader_in_their_language(knowledge, new_page, settings):
    from django.core.cache import cache

    settings.RATE_LIMIT_ASK_PER_MINUTE = 1
    settings.RATE_LIMIT_ASK_PER_MINUTE_ADDRESS = 0
    cache.clear()
    try:
        page = new_page(locale="zh-CN")
        page.goto("/")
        _ask(page, QUESTION_ZH)
        expect(page.locator("#live .permalink")).to_be_visible()
        page.goto("/")
        page.fill("#q", QUESTION_ZH)
        page.click("#ask-form button[type=submit]")
        expect(page.locator("#live [role=alert]")).to_contain_text("短时间内提问过多")
    finally:
        cache.clear()


# Every piece of text the page ever puts on screen, from the first paint to the last, so a
# sentence shown for a moment and then replaced still counts.
WATCH_PAINTS = """(() => {
  window.__painted = [];
  new MutationObserver((records) => {
    for (const r of records) {
      if (r.type === "characterData") window.__painted.push(r.target.data);
      for (const n of r.addedNodes) window.__painted.push(n.textContent || "");
    }
  }).observe(document, { childList: true, subtree: true, characterData: true });
})();"""


@pytest.fixture
def held_term(transactional_db):
    from portal.safety.lexicon import lexicon_forget
    from portal.safety.models import SensitiveTerm
    from portal.safety.services import term_save

    term_save(
        term=SensitiveTerm(term="passport renewal", category="test", language="en", action="hold")
    )
    yield
    lexicon_forget()


def test_a_held_answer_never_paints_a_sentence_from_submit_to_done(knowledge, held_term, new_page):
    # The input guard holds the question (a lexicon "hold" term) before anything is generated;
    # the reader must see the "being checked" notice and not one word of the draft, not even
    # for a moment before it is swapped out.
    page = new_page(locale="en-US")
    page.add_init_script(WATCH_PAINTS)
    page.goto("/")
    page.fill("#q", QUESTION_EN)
    with page.expect_response("**/api/v1/ask/stream") as streamed:
        page.click("#ask-form button[type=submit]")
    expect(page.locator("#live .notice.held")).to_be_visible(timeout=30_000)
    expect(page.locator("#live")).to_have_attribute("aria-busy", "false")
    painted = " ".join(page.evaluate("window.__painted"))
    assert "weeks" not in painted and "15 years" not in painted
    expect(page.locator("#live .sentence")).to_have_count(0)
    body = streamed.value.text()
    assert '"event": "sentence"' not in body and "6 to 8 weeks" not in body
    assert '"status": "held"' in body
